package admin

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Every error Do returns wraps exactly one of them, so
// callers branch with errors.Is; the typed errors below carry the details
// (errors.As) and Shopify's request ID for support. No message contains
// an access token or a variable's value.
var (
	// ErrConfig: New was given an invalid or incomplete configuration (no
	// API version, a bad base URL, ...).
	ErrConfig = errors.New("admin: invalid configuration")
	// ErrInvalidShop: the shop is not a shop domain
	// ("example.myshopify.com").
	ErrInvalidShop = errors.New("admin: not a shop domain")
	// ErrInvalidRequest: the variables cannot be encoded as JSON.
	ErrInvalidRequest = errors.New("admin: invalid request")
	// ErrThrottled: Shopify still answered THROTTLED (or 429) after the
	// bounded retries, or waiting for the shop's budget would outlast the
	// context. Nothing was executed; try again later.
	ErrThrottled = errors.New("admin: throttled by shopify after bounded retries")
	// ErrUnavailable: Shopify answered 502, 503 or 504, or could not be
	// reached, for every attempt within the retry budget (a mutation not
	// marked retry-safe is not retried at all: it may have run).
	ErrUnavailable = errors.New("admin: shopify unavailable after bounded retries")
	// ErrUnauthorized: Shopify refused the access token (401) and it could
	// not be renewed, or the retry with the renewed token was refused too,
	// or the call was not safe to retry. When the shop must re-authorize
	// the app, the error also wraps the token source's error (for the
	// access Manager, access.ErrReauthorize).
	ErrUnauthorized = errors.New("admin: shopify refused the access token")
	// ErrToken: no access token could be had for the shop (the token
	// source's error is wrapped too).
	ErrToken = errors.New("admin: no access token for the shop")
	// ErrGraphQL: the response carries GraphQL errors (a *GraphQLError
	// has them); data, if any, was still decoded into out.
	ErrGraphQL = errors.New("admin: graphql errors")
	// ErrUserErrors: a mutation answered with userErrors (a *UserErrors
	// has them); the payload was decoded into out.
	ErrUserErrors = errors.New("admin: mutation returned user errors")
	// ErrResponse: Shopify's answer is not a GraphQL response this client
	// understands (an unexpected status such as 400, 403 or 404, a body
	// that is not JSON, or out cannot hold the data).
	ErrResponse = errors.New("admin: unexpected response from shopify")
)

// GraphQLError is the errors list of a GraphQL response.
type GraphQLError struct {
	// Errors as Shopify sent them.
	Errors []GraphQLErrorEntry
	// RequestID is Shopify's X-Request-Id: quote it to Shopify support.
	RequestID string
	// Throttled is set when the errors are Shopify's THROTTLED answer
	// (then the error also wraps ErrThrottled, not ErrGraphQL).
	Throttled bool

	sentinel error
}

// GraphQLErrorEntry is one entry of a response's errors.
type GraphQLErrorEntry struct {
	Message string `json:"message"`
	// Path names the field that failed, e.g. ["products", "edges", 0].
	Path []any `json:"path,omitempty"`
	// Code is extensions.code: "THROTTLED", "MAX_COST_EXCEEDED",
	// "ACCESS_DENIED", "undefinedField", ...
	Code      string              `json:"-"`
	Locations []GraphQLErrorPlace `json:"locations,omitempty"`
}

// GraphQLErrorPlace is a line and column of the query.
type GraphQLErrorPlace struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func (e *GraphQLError) Error() string {
	var b strings.Builder
	if e.sentinel != nil {
		b.WriteString(e.sentinel.Error())
	} else {
		b.WriteString(ErrGraphQL.Error())
	}
	for i, g := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-3)
			break
		}
		b.WriteString("; ")
		if g.Code != "" {
			b.WriteString(g.Code)
			b.WriteString(": ")
		}
		b.WriteString(g.Message)
	}
	writeRequestID(&b, e.RequestID)
	return b.String()
}

// Unwrap returns ErrGraphQL, or ErrThrottled for a THROTTLED answer.
func (e *GraphQLError) Unwrap() error {
	if e.sentinel != nil {
		return e.sentinel
	}
	return ErrGraphQL
}

// HasCode reports whether one of the errors has extensions.code code.
func (e *GraphQLError) HasCode(code string) bool {
	for _, g := range e.Errors {
		if g.Code == code {
			return true
		}
	}
	return false
}

// UserErrors is the userErrors a mutation payload returned.
type UserErrors struct {
	// Field is the response key of the mutation that returned them
	// ("tagsAdd", or its alias).
	Field string
	// Errors as Shopify sent them.
	Errors []UserError
	// RequestID is Shopify's X-Request-Id.
	RequestID string
}

// UserError is one entry of a payload's userErrors.
type UserError struct {
	// Field is the input path the error is about, e.g. ["id"].
	Field   []string `json:"field"`
	Message string   `json:"message"`
	// Code is the error's code where the mutation has one.
	Code string `json:"code,omitempty"`
}

func (e *UserErrors) Error() string {
	var b strings.Builder
	b.WriteString(ErrUserErrors.Error())
	b.WriteString(": ")
	b.WriteString(e.Field)
	for i, u := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-3)
			break
		}
		b.WriteString("; ")
		if len(u.Field) > 0 {
			b.WriteString(strings.Join(u.Field, "."))
			b.WriteString(": ")
		}
		b.WriteString(u.Message)
	}
	writeRequestID(&b, e.RequestID)
	return b.String()
}

// Unwrap returns ErrUserErrors.
func (e *UserErrors) Unwrap() error { return ErrUserErrors }

// ResponseError is an HTTP-level failure: the status Shopify answered (0
// when no answer came), after how many attempts.
type ResponseError struct {
	// Status is the last HTTP status code; 0 if Shopify could not be
	// reached.
	Status int
	// RequestID is Shopify's X-Request-Id of the last answer.
	RequestID string
	// Attempts is how many requests were sent.
	Attempts int

	sentinel error
	cause    error
}

func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString(e.sentinel.Error())
	if e.Status != 0 {
		b.WriteString(": shopify answered ")
		b.WriteString(strconv.Itoa(e.Status))
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	if e.Attempts > 1 {
		b.WriteString(" after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" attempts")
	}
	writeRequestID(&b, e.RequestID)
	return b.String()
}

// Unwrap returns the sentinel and the cause (a network error, the token
// source's error, a *GraphQLError of the last THROTTLED answer).
func (e *ResponseError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.sentinel, e.cause}
	}
	return []error{e.sentinel}
}

func writeRequestID(b *strings.Builder, id string) {
	if id != "" {
		b.WriteString(" (x-request-id ")
		b.WriteString(id)
		b.WriteString(")")
	}
}

// RequestID returns the Shopify request ID an error of Do carries, or "".
func RequestID(err error) string {
	var g *GraphQLError
	if errors.As(err, &g) && g.RequestID != "" {
		return g.RequestID
	}
	var u *UserErrors
	if errors.As(err, &u) && u.RequestID != "" {
		return u.RequestID
	}
	var r *ResponseError
	if errors.As(err, &r) {
		return r.RequestID
	}
	return ""
}
