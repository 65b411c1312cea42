// Package setup builds OpenTelemetry tracer and meter providers from the
// standard OTEL_* environment variables, for programs that embed
// possession and have no OpenTelemetry wiring of their own: examples,
// small services, debugging sessions.
//
// Only programs import it. The sdk does not: a service that configures
// OpenTelemetry itself passes its providers with sdk.WithTracerProvider and
// sdk.WithMeterProvider, or installs them globally, and never compiles an
// exporter it does not use.
//
// # Variables
//
//   - OTEL_SDK_DISABLED=true: no-op providers, whatever else is set.
//   - OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER: a comma-separated list of
//     otlp (OTLP over HTTP with protobuf), console (JSON lines on the
//     configured writer, standard output by default) and none. When unset,
//     otlp if an OTLP endpoint variable is set, none otherwise: a program
//     started without telemetry configuration does not try to reach a
//     Collector on localhost. (The specification's default is otlp; set
//     the variable to get it.)
//   - OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
//     OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
//     OTEL_EXPORTER_OTLP_TIMEOUT, ...: read by the OTLP HTTP exporters.
//     OTEL_EXPORTER_OTLP_PROTOCOL (and the per-signal variables) must be
//     unset or http/protobuf.
//   - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: the resource.
//   - OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*, OTEL_METRIC_EXPORT_INTERVAL,
//     OTEL_METRIC_EXPORT_TIMEOUT: read by the OpenTelemetry SDK.
//
// A signal whose exporter list is none gets a no-op provider, which
// possession's verifier recognises and skips at no cost.
package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Providers are the tracer and meter providers New built. Call Shutdown
// before the program exits: it flushes what is buffered.
type Providers struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider

	shutdowns []func(context.Context) error
}

// Shutdown flushes and stops the providers. Safe to call on no-op
// providers and more than once (later calls return the providers' errors
// for repeated shutdown, which callers may ignore).
func (p *Providers) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range p.shutdowns {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	global      bool
	serviceName string
	writer      io.Writer
	getenv      func(string) string
}

// WithGlobal installs the providers as OpenTelemetry's globals, with the
// W3C trace context and baggage propagators, so that instrumentation
// which defaults to the globals (possession's verifier, otelhttp) uses
// them.
func WithGlobal() Option { return optionFunc(func(c *config) { c.global = true }) }

// WithServiceName sets service.name for when OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES do not (default: unknown_service:<executable>,
// as the specification says).
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) { c.serviceName = name })
}

// WithWriter sets where the console exporters write (default os.Stdout).
func WithWriter(w io.Writer) Option { return optionFunc(func(c *config) { c.writer = w }) }

// New builds the providers the environment asks for. On error, nothing
// is left running.
func New(ctx context.Context, opts ...Option) (*Providers, error) {
	c := config{writer: os.Stdout, getenv: os.Getenv}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.serviceName == "" {
		exe, _ := os.Executable()
		c.serviceName = "unknown_service:" + filepath.Base(exe)
	}

	p := &Providers{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}
	if strings.EqualFold(strings.TrimSpace(c.getenv("OTEL_SDK_DISABLED")), "true") {
		return p, nil
	}
	tracesExp, err := c.exporters("TRACES")
	if err != nil {
		return nil, err
	}
	metricsExp, err := c.exporters("METRICS")
	if err != nil {
		return nil, err
	}
	if len(tracesExp) == 0 && len(metricsExp) == 0 {
		return p, nil
	}

	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(c.serviceName)),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
	)
	if err != nil {
		return nil, fmt.Errorf("setup: resource: %w", err)
	}

	if len(tracesExp) > 0 {
		tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
		for _, name := range tracesExp {
			exp, err := c.spanExporter(ctx, name)
			if err != nil {
				_ = p.Shutdown(ctx)
				return nil, err
			}
			tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
		}
		tp := sdktrace.NewTracerProvider(tpOpts...)
		p.TracerProvider = tp
		p.shutdowns = append(p.shutdowns, tp.Shutdown)
	}
	if len(metricsExp) > 0 {
		mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
		for _, name := range metricsExp {
			exp, err := c.metricExporter(ctx, name)
			if err != nil {
				_ = p.Shutdown(ctx)
				return nil, err
			}
			mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		}
		mp := sdkmetric.NewMeterProvider(mpOpts...)
		p.MeterProvider = mp
		p.shutdowns = append(p.shutdowns, mp.Shutdown)
	}

	if c.global {
		otel.SetTracerProvider(p.TracerProvider)
		otel.SetMeterProvider(p.MeterProvider)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	}
	return p, nil
}

// exporters reads OTEL_<SIGNAL>_EXPORTER: the exporters to build, none
// for an empty list.
func (c *config) exporters(signal string) ([]string, error) {
	v := strings.TrimSpace(c.getenv("OTEL_" + signal + "_EXPORTER"))
	if v == "" {
		if c.getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && c.getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") == "" {
			return nil, nil
		}
		v = "otlp"
	}
	var names []string
	for _, name := range strings.Split(v, ",") {
		switch name = strings.ToLower(strings.TrimSpace(name)); name {
		case "none":
			// A list holding none means no exporter at all.
			return nil, nil
		case "otlp":
			if err := c.checkProtocol(signal); err != nil {
				return nil, err
			}
			names = append(names, name)
		case "console":
			names = append(names, name)
		default:
			return nil, fmt.Errorf("setup: OTEL_%s_EXPORTER: unsupported exporter %q (want otlp, console or none)", signal, name)
		}
	}
	return names, nil
}

func (c *config) checkProtocol(signal string) error {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch v := strings.TrimSpace(c.getenv(name)); v {
		case "":
			continue
		case "http/protobuf":
			return nil
		default:
			return fmt.Errorf("setup: %s=%q: only http/protobuf is supported", name, v)
		}
	}
	return nil
}

func (c *config) spanExporter(ctx context.Context, name string) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch name {
	case "otlp":
		exp, err = otlptracehttp.New(ctx)
	case "console":
		exp, err = stdouttrace.New(stdouttrace.WithWriter(c.writer))
	}
	if err != nil {
		return nil, fmt.Errorf("setup: %s trace exporter: %w", name, err)
	}
	return exp, nil
}

func (c *config) metricExporter(ctx context.Context, name string) (sdkmetric.Exporter, error) {
	var (
		exp sdkmetric.Exporter
		err error
	)
	switch name {
	case "otlp":
		exp, err = otlpmetrichttp.New(ctx)
	case "console":
		exp, err = stdoutmetric.New(stdoutmetric.WithWriter(c.writer))
	}
	if err != nil {
		return nil, fmt.Errorf("setup: %s metric exporter: %w", name, err)
	}
	return exp, nil
}
