package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Topics with ready handlers. The three compliance topics are mandatory
// for every app in the Shopify App Store: an app that does not answer
// them (and answer 401 to a wrong HMAC) is rejected.
const (
	// TopicCustomersDataRequest: a customer asked the shop for their data;
	// send it to the merchant (CustomersDataRequest).
	TopicCustomersDataRequest = "customers/data_request"
	// TopicCustomersRedact: erase a customer's data (CustomersRedact).
	TopicCustomersRedact = "customers/redact"
	// TopicShopRedact: 48 hours after uninstalling, erase the shop's data
	// (ShopRedact).
	TopicShopRedact = "shop/redact"
	// TopicAppUninstalled: the shop removed the app; its tokens no longer
	// work (AppUninstalled).
	TopicAppUninstalled = "app/uninstalled"
)

// TokenDeleter deletes every stored token of a shop. access.Store
// satisfies it (and so does every store built on it).
type TokenDeleter interface {
	Delete(ctx context.Context, shop string) error
}

// Customer names the customer of a compliance request.
type Customer struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// DataRequest is the payload of customers/data_request.
type DataRequest struct {
	ShopID          int64    `json:"shop_id"`
	ShopDomain      string   `json:"shop_domain"`
	Customer        Customer `json:"customer"`
	OrdersRequested []int64  `json:"orders_requested"`
	DataRequest     struct {
		ID int64 `json:"id"`
	} `json:"data_request"`
}

// CustomerRedaction is the payload of customers/redact.
type CustomerRedaction struct {
	ShopID         int64    `json:"shop_id"`
	ShopDomain     string   `json:"shop_domain"`
	Customer       Customer `json:"customer"`
	OrdersToRedact []int64  `json:"orders_to_redact"`
}

// ShopRedaction is the payload of shop/redact.
type ShopRedaction struct {
	ShopID     int64  `json:"shop_id"`
	ShopDomain string `json:"shop_domain"`
}

// CustomersDataRequest returns the handler of customers/data_request: it
// decodes the payload, checks that it names the delivery's shop, and
// calls fn. The delivery is answered 200 only once fn returned nil.
func CustomersDataRequest(fn func(ctx context.Context, d *Delivery, req DataRequest) error) Handler {
	if fn == nil {
		panic("webhook: CustomersDataRequest with a nil function")
	}
	return HandlerFunc(func(ctx context.Context, d *Delivery) error {
		var req DataRequest
		if err := decodePayload(d, &req); err != nil {
			return err
		}
		if err := sameShop(d, req.ShopDomain, "shop_domain"); err != nil {
			return err
		}
		return fn(ctx, d, req)
	})
}

// CustomersRedact returns the handler of customers/redact: decode, check
// the shop, call fn; 200 only once fn returned nil.
func CustomersRedact(fn func(ctx context.Context, d *Delivery, req CustomerRedaction) error) Handler {
	if fn == nil {
		panic("webhook: CustomersRedact with a nil function")
	}
	return HandlerFunc(func(ctx context.Context, d *Delivery) error {
		var req CustomerRedaction
		if err := decodePayload(d, &req); err != nil {
			return err
		}
		if err := sameShop(d, req.ShopDomain, "shop_domain"); err != nil {
			return err
		}
		return fn(ctx, d, req)
	})
}

// ShopRedact returns the handler of shop/redact: decode, check the shop,
// call fn, then, if tokens is not nil, delete the shop's tokens (usually
// gone already, with app/uninstalled); 200 only once both succeeded. A
// retry after a failure calls fn again, so fn must be idempotent (erasing
// what is erased already is).
func ShopRedact(tokens TokenDeleter, fn func(ctx context.Context, d *Delivery, req ShopRedaction) error) Handler {
	if fn == nil {
		panic("webhook: ShopRedact with a nil function")
	}
	return HandlerFunc(func(ctx context.Context, d *Delivery) error {
		var req ShopRedaction
		if err := decodePayload(d, &req); err != nil {
			return err
		}
		if err := sameShop(d, req.ShopDomain, "shop_domain"); err != nil {
			return err
		}
		if err := fn(ctx, d, req); err != nil {
			return err
		}
		if tokens != nil {
			if err := tokens.Delete(ctx, strings.ToLower(req.ShopDomain)); err != nil {
				return fmt.Errorf("delete the shop's tokens: %w", err)
			}
		}
		return nil
	})
}

// AppUninstalled returns the handler of app/uninstalled: it deletes the
// shop's tokens from tokens and then calls fn, if not nil (to stop the
// shop's background jobs, for instance); 200 only once both succeeded.
//
// The shop is the payload's myshopify_domain (the signed body is the
// shop's resource), which must equal the delivery's shop header: the
// header is not signed, and a delivery naming another shop than its body
// is refused (ErrPayload) rather than deleting that other shop's tokens.
func AppUninstalled(tokens TokenDeleter, fn func(ctx context.Context, d *Delivery) error) Handler {
	if tokens == nil {
		panic("webhook: AppUninstalled with a nil TokenDeleter")
	}
	return HandlerFunc(func(ctx context.Context, d *Delivery) error {
		var shop struct {
			MyshopifyDomain string `json:"myshopify_domain"`
		}
		if err := decodePayload(d, &shop); err != nil {
			return err
		}
		if err := sameShop(d, shop.MyshopifyDomain, "myshopify_domain"); err != nil {
			return err
		}
		if err := tokens.Delete(ctx, strings.ToLower(shop.MyshopifyDomain)); err != nil {
			return fmt.Errorf("delete the shop's tokens: %w", err)
		}
		if fn != nil {
			return fn(ctx, d)
		}
		return nil
	})
}

// decodePayload decodes d's JSON body into v.
func decodePayload(d *Delivery, v any) error {
	dec := json.NewDecoder(bytes.NewReader(d.Body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s body is not the JSON Shopify sends: %w", ErrPayload, d.Topic, err)
	}
	return nil
}

// sameShop checks that the signed payload's shop (field) is the delivery's
// shop header.
func sameShop(d *Delivery, shop, field string) error {
	if shop == "" {
		return fmt.Errorf("%w: %s body has no %s", ErrPayload, d.Topic, field)
	}
	if !strings.EqualFold(shop, d.Shop) {
		return fmt.Errorf("%w: %s body names shop %q, the header %q", ErrPayload, d.Topic, shop, d.Shop)
	}
	return nil
}
