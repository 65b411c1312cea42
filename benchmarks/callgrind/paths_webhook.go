package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/possession-dev/possession/benchmarks/internal/peers"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/webhook"
)

// webhookVerify verifies 4 KiB deliveries with their classic headers, as
// Shopify sends them (the body read is the caller's, not counted).
func webhookVerify() (func(int) error, error) {
	v, err := webhook.New(keysource.MustStatic(peers.Secret), webhook.WithClock(clock))
	if err != nil {
		return nil, err
	}
	type delivery struct {
		header http.Header
		body   []byte
	}
	deliveries := make([]delivery, poolSize)
	for i := range deliveries {
		body := []byte(fmt.Sprintf(`{"id":%d,"note":"%s"}`, 820982911946154500+i, strings.Repeat("x", 4096-40)))[:4096]
		body[len(body)-2], body[len(body)-1] = '"', '}'
		mac := hmac.New(sha256.New, []byte(peers.Secret))
		mac.Write(body)
		h := http.Header{}
		h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		h.Set("X-Shopify-Topic", "orders/create")
		h.Set("X-Shopify-Shop-Domain", fmt.Sprintf("shop-%d.myshopify.com", i%16))
		h.Set("X-Shopify-API-Version", "2026-07")
		h.Set("X-Shopify-Webhook-Id", fmt.Sprintf("b54557e4-bdd9-4b37-8a5f-%012d", i))
		h.Set("X-Shopify-Event-Id", fmt.Sprintf("98880550-7158-44d4-b7cd-%012d", i))
		h.Set("X-Shopify-Triggered-At", validAt.UTC().Format("2006-01-02T15:04:05.000000000Z"))
		deliveries[i] = delivery{h, body}
	}
	return func(i int) error {
		d := deliveries[i%poolSize]
		got, err := v.Verify(d.header, d.body)
		if err != nil || got.Topic != "orders/create" {
			return fmt.Errorf("webhook %d: %+v %v", i%poolSize, got.Topic, err)
		}
		return nil
	}, nil
}
