package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Handler handles one verified delivery. Returning nil means handled: the
// middleware answers 200 and, with a Deduper, records the delivery as
// done. An error means not handled: the answer is non-2xx, the claim is
// released and Shopify retries. ctx ends at the handler timeout; a handler
// that cannot finish in time should hand the work to a queue.
type Handler interface {
	ServeWebhook(ctx context.Context, d *Delivery) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, d *Delivery) error

// ServeWebhook calls f.
func (f HandlerFunc) ServeWebhook(ctx context.Context, d *Delivery) error { return f(ctx, d) }

// Router is an http.Handler that dispatches deliveries by topic. It runs
// behind Verifier.Middleware, which verifies the delivery and puts it in
// the request context. Topics match whatever Shopify's spelling: the
// header's "orders/create" and the GraphQL enum's "ORDERS_CREATE" name
// the same handler, as in Shopify's own library.
//
// Answers: 200 when the handler returns nil; 404 (ErrUnknownTopic) for a
// topic without handler; 400 when the handler's error wraps ErrPayload;
// 500 (ErrHandler, wrapping the handler's error) otherwise.
type Router struct {
	mu       sync.RWMutex
	handlers map[string]Handler
}

// NewRouter returns a Router without handlers.
func NewRouter() *Router { return &Router{handlers: map[string]Handler{}} }

// Handle registers h for topic. Like http.ServeMux, it panics on an empty
// topic, a nil handler or a topic registered twice: those are mistakes in
// the program, not in a request.
func (rt *Router) Handle(topic string, h Handler) {
	if topic == "" {
		panic("webhook: Router.Handle with an empty topic")
	}
	if h == nil {
		panic("webhook: Router.Handle with a nil handler for " + topic)
	}
	key := topicKey(topic)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, dup := rt.handlers[key]; dup {
		panic("webhook: Router.Handle: topic " + topic + " registered twice")
	}
	rt.handlers[key] = h
}

// HandleFunc registers fn for topic.
func (rt *Router) HandleFunc(topic string, fn func(ctx context.Context, d *Delivery) error) {
	if fn == nil {
		panic("webhook: Router.HandleFunc with a nil function for " + topic)
	}
	rt.Handle(topic, HandlerFunc(fn))
}

// ServeHTTP dispatches the delivery Middleware verified.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, _ := r.Context().Value(deliveryKey{}).(*deliveryState)
	if st == nil || st.d == nil {
		// Not behind Middleware: a mistake in the program. The state is
		// absent, so Middleware cannot report it; answer 500.
		writeStatus(w, http.StatusInternalServerError, "not behind webhook middleware")
		return
	}
	d := st.d
	rt.mu.RLock()
	h := rt.handlers[topicKey(d.Topic)]
	rt.mu.RUnlock()
	if h == nil {
		st.err = fmt.Errorf("%w: %q", ErrUnknownTopic, d.Topic)
		writeStatus(w, http.StatusNotFound, ErrorName(st.err))
		return
	}
	err := h.ServeWebhook(r.Context(), d)
	switch {
	case err == nil:
		writeStatus(w, http.StatusOK, "ok")
	case errors.Is(err, ErrPayload):
		st.err = err
		writeStatus(w, http.StatusBadRequest, ErrorName(err))
	default:
		st.err = fmt.Errorf("%w: %s: %w", ErrHandler, d.Topic, err)
		writeStatus(w, http.StatusInternalServerError, "handler")
	}
}

// topicKey folds a topic to Shopify's storage form: upper case, "/" and
// "." as "_" ("orders/create" and "ORDERS_CREATE" both give
// "ORDERS_CREATE").
func topicKey(topic string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '.':
			return '_'
		case 'a' <= r && r <= 'z':
			return r - ('a' - 'A')
		}
		return r
	}, topic)
}
