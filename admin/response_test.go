package admin

import (
	"errors"
	"testing"
	"time"
)

func TestDecodeWire(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		ok        bool
		throttled bool
		errs      int
	}{
		{"data", `{"data":{"shop":{"name":"x"}}}`, true, false, 0},
		{"errors", `{"errors":[{"message":"bad","extensions":{"code":"undefinedField"}}]}`, true, false, 1},
		{"throttled", `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":50,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":100.0,"currentlyAvailable":3,"restoreRate":10.0}}}}`, true, true, 1},
		{"errors as a string", `{"errors":"[API] Invalid API key or access token"}`, true, false, 1},
		{"null data and no errors", `{"data":null}`, false, false, 0},
		{"not JSON", `<html>`, false, false, 0},
		{"empty object", `{}`, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := decodeWire([]byte(tt.body))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if w.throttled() != tt.throttled || len(w.errs) != tt.errs {
				t.Fatalf("throttled %v, %d errors", w.throttled(), len(w.errs))
			}
			if tt.throttled {
				g := w.graphQLError("req-1")
				if !errors.Is(g, ErrThrottled) || errors.Is(g, ErrGraphQL) || !g.Throttled {
					t.Fatalf("throttled answer as error: %v", g)
				}
				if s := w.Extensions.Cost.ThrottleStatus; !s.valid() || s.CurrentlyAvailable != 3 {
					t.Fatalf("status %+v", s)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"", time.Second, true},
		{"soon", time.Second, true},
		{"-1", 0, false},
		{"1e9", 0, false},
		{"Tue, 01 Dec 2026 12:00:03 GMT", 3 * time.Second, true},
		{"Tue, 01 Dec 2026 11:00:00 GMT", 0, true},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestThrottleWait(t *testing.T) {
	s := &ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 20, RestoreRate: 100}
	if got := throttleWait(50, 0, s); got != 310*time.Millisecond { // (50 - 20 + 1) / 100
		t.Fatalf("throttleWait = %v", got)
	}
	if got := throttleWait(0, 50, s); got != 310*time.Millisecond {
		t.Fatalf("throttleWait from the estimate = %v", got)
	}
	if got := throttleWait(50, 0, nil); got != time.Second {
		t.Fatalf("throttleWait without a status = %v", got)
	}
}

// FuzzDecodeResponse: any body Shopify could send is decoded or refused
// with an error, never a panic; a decoded one has data or errors, and its
// errors become a *GraphQLError wrapping exactly one of ErrGraphQL and
// ErrThrottled.
func FuzzDecodeResponse(f *testing.F) {
	f.Add(`{"data":{"tagsAdd":{"userErrors":[{"field":["id"],"message":"x"}]}}}`)
	f.Add(`{"errors":[{"message":"Throttled","path":["a",0],"locations":[{"line":1,"column":2}],"extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":50,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":3,"restoreRate":100.0}}}}`)
	f.Add(`{"errors":"x","data":{"a":1}}`)
	f.Fuzz(func(t *testing.T, body string) {
		w, err := decodeWire([]byte(body))
		if err != nil {
			return
		}
		if !w.hasData() && len(w.errs) == 0 {
			t.Fatalf("decoded %q without data or errors", body)
		}
		if len(w.errs) > 0 {
			g := w.graphQLError("id")
			if errors.Is(g, ErrGraphQL) == errors.Is(g, ErrThrottled) {
				t.Fatalf("%v wraps both or neither sentinel", g)
			}
			_ = g.Error()
		}
		if ue := userErrorsOf(w.Data); ue != nil {
			if len(ue.Errors) == 0 || !errors.Is(ue, ErrUserErrors) {
				t.Fatalf("userErrors %+v", ue)
			}
			_ = ue.Error()
		}
		if c := w.Extensions.Cost; c != nil && c.ThrottleStatus.valid() {
			_ = throttleWait(0, 1, c.ThrottleStatus)
		}
	})
}
