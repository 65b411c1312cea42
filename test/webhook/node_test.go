package webhook_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/test/internal/shopifyjs"
)

// jsReference is a running tools/shopify-js/webhook-reference.mjs.
type jsReference struct {
	url string // its webhook endpoint
	*shopifyjs.Script
}

// jsResult is what the script answers, for webhooks and queries.
type jsResult struct {
	Valid          bool     `json:"valid"`
	Reason         string   `json:"reason"`
	MissingHeaders []string `json:"missingHeaders"`
	Error          string   `json:"error"`
	WebhookType    string   `json:"webhookType"`
	Topic          string   `json:"topic"`
	WebhookID      string   `json:"webhookId"`
}

func startJSReference(t *testing.T, secret string) *jsReference {
	t.Helper()
	script := shopifyjs.Start(t, "@shopify/shopify-api", "webhook-reference.mjs", secret)
	greeting := script.ReadLine(t)
	var hello struct{ Port int }
	if err := json.Unmarshal(greeting, &hello); err != nil || hello.Port == 0 {
		t.Fatalf("webhook-reference.mjs said %q: %v", greeting, err)
	}
	return &jsReference{url: fmt.Sprintf("http://127.0.0.1:%d/webhooks", hello.Port), Script: script}
}

// query runs one signed-query check in the script.
func (j *jsReference) query(t *testing.T, kind, query, state string, now time.Time) jsResult {
	t.Helper()
	answer := j.Ask(t, map[string]any{"kind": kind, "query": query, "state": state, "now": now.Unix()})
	var r jsResult
	if err := json.Unmarshal(answer, &r); err != nil {
		t.Fatalf("answer %q: %v", answer, err)
	}
	if strings.HasPrefix(r.Error, "unknown kind") {
		t.Fatal(r.Error)
	}
	return r
}
