package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// settleTimeout bounds the Deduper calls that end a claim. They run on a
// context detached from the request's, which ends when the answer is
// written, possibly before the handler does.
const settleTimeout = 5 * time.Second

type deliveryKey struct{}

// deliveryState is what the middleware shares with the handler through
// the request context: the delivery, and the Router's error.
type deliveryState struct {
	d   *Delivery
	err error
}

// DeliveryFrom returns the delivery Middleware verified for this request.
// The delivery is shared: treat it as read-only.
func DeliveryFrom(ctx context.Context) (*Delivery, bool) {
	st, ok := ctx.Value(deliveryKey{}).(*deliveryState)
	if !ok || st == nil || st.d == nil {
		return nil, false
	}
	return st.d, true
}

// Middleware verifies webhook deliveries and calls next for each one it
// accepts, with the delivery in the request context (DeliveryFrom; a
// Router dispatches it by topic) and the body readable again. A 2xx from
// next (or nothing written) means handled; anything else, a panic or the
// timeout means failed, and Shopify retries.
//
// The middleware answers itself, without calling next, when:
//
//   - the method is not POST: 405 (ErrMethod), with Allow: POST;
//   - the body is larger than WithMaxBodySize: 413 (ErrBodyTooLarge);
//   - the body is empty or unreadable: 400 (ErrEmptyBody, ErrReadBody);
//   - the HMAC header is missing, or after a valid HMAC another required
//     header is missing or repeated: 400 (ErrHeader);
//   - the HMAC matches no key: 401 (ErrSignature), as Shopify requires;
//   - the key source has no keys: 503 (ErrNoKeys);
//   - with WithMaxAge and StaleDrop, the delivery is too old: 200
//     (ErrStale), so Shopify stops retrying it;
//   - with WithDeduper, the delivery was handled already: 200 (not an
//     error); it is being handled elsewhere: 503 (ErrInProgress); the
//     Deduper fails: 503 (ErrDedupe).
//
// next runs with a context that ends after WithHandlerTimeout; if it has
// not returned by then the middleware answers 503 (ErrTimeout), and the
// handler's eventual result still settles the delivery's claim. Its
// response is buffered and written when it returns in time.
//
// Every answer ends the delivery's span and is counted; every error
// answer is reported to WithOnError.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	if next == nil {
		panic("webhook: Middleware with a nil handler")
	}
	return &middleware{v: v, next: next}
}

type middleware struct {
	v    *Verifier
	next http.Handler
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, span := m.v.tel.startDelivery(r.Context())
	a := m.deliver(ctx, w, r, span)
	span.end(ctx, a.d, a.duplicate, a.err)
	if a.err != nil && m.v.cfg.onError != nil {
		m.v.cfg.onError(r, a.d, a.status, a.err)
	}
}

// answer is how a delivery was answered.
type answer struct {
	d         *Delivery // nil before the HMAC matched
	status    int
	duplicate bool
	err       error
}

func (m *middleware) deliver(ctx context.Context, w http.ResponseWriter, r *http.Request, span deliverySpan) answer {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return reject(w, nil, http.StatusMethodNotAllowed, fmt.Errorf("%w: %s, want POST", ErrMethod, r.Method))
	}
	body, err := readBody(w, r, m.v.cfg.maxBody)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrBodyTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		return reject(w, nil, status, err)
	}
	var d Delivery
	err = m.v.verify(r.Header, body, &d)
	switch {
	case errors.Is(err, ErrStale):
		span.verified(&d)
		writeStatus(w, http.StatusOK, "stale")
		return answer{d: &d, status: http.StatusOK, err: err}
	case errors.Is(err, ErrSignature):
		return reject(w, nil, http.StatusUnauthorized, err)
	case errors.Is(err, ErrNoKeys):
		return reject(w, nil, http.StatusServiceUnavailable, err)
	case err != nil:
		return reject(w, nil, http.StatusBadRequest, err)
	}
	span.verified(&d)

	var claim int64
	dd := m.v.cfg.deduper
	if dd != nil {
		var done bool
		claim, done, err = dd.ClaimDelivery(ctx, d.WebhookID, m.v.cfg.timeout+claimMargin)
		switch {
		case err != nil:
			return reject(w, &d, http.StatusServiceUnavailable, fmt.Errorf("%w: claim: %w", ErrDedupe, err))
		case done:
			writeStatus(w, http.StatusOK, "duplicate")
			return answer{d: &d, status: http.StatusOK, duplicate: true}
		case claim <= 0:
			return reject(w, &d, http.StatusServiceUnavailable, fmt.Errorf("%w: webhook %s is claimed by a live holder", ErrInProgress, d.WebhookID))
		}
	}
	return m.handle(ctx, w, r, &d, claim)
}

// handle runs next for d under the handler timeout, settles the claim
// (if a Deduper is configured) and answers.
func (m *middleware) handle(ctx context.Context, w http.ResponseWriter, r *http.Request, d *Delivery, claim int64) answer {
	hctx, cancel := context.WithTimeout(ctx, m.v.cfg.timeout)
	// Cancelled when the answer is chosen: by then either the handler has
	// returned or hctx has ended anyway.
	defer cancel()
	st := &deliveryState{d: d}
	req := r.WithContext(context.WithValue(hctx, deliveryKey{}, st))
	req.Body = io.NopCloser(bytes.NewReader(d.Body))
	req.ContentLength = int64(len(d.Body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(d.Body)), nil }

	bw := &bufferedWriter{header: http.Header{}}
	done := make(chan handlerResult, 1)
	settleCtx := context.WithoutCancel(ctx)
	go func() {
		res := m.run(bw, req, st)
		res.settleErr = m.settle(settleCtx, d, claim, res.err == nil)
		done <- res
	}()

	select {
	case res := <-done:
		if res.panicked {
			writeStatus(w, http.StatusInternalServerError, "handler")
			return answer{d: d, status: http.StatusInternalServerError, err: res.err}
		}
		bw.copyTo(w)
		a := answer{d: d, status: bw.status(), err: res.err}
		if a.err == nil && res.settleErr != nil {
			// The handler ran: answering 200 keeps Shopify from retrying
			// a delivery the Deduper could not record as done.
			a.err = fmt.Errorf("%w: complete: %w", ErrDedupe, res.settleErr)
		}
		return a
	case <-hctx.Done():
		// The handler goroutine settles the claim when next returns.
		err := fmt.Errorf("%w: still running after %v", ErrTimeout, m.v.cfg.timeout)
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: the sender went away before the handler finished", ErrTimeout)
		}
		return reject(w, d, http.StatusServiceUnavailable, err)
	}
}

type handlerResult struct {
	err       error // nil when next handled the delivery
	panicked  bool
	settleErr error
}

// run calls next and tells whether it handled the delivery.
func (m *middleware) run(bw *bufferedWriter, req *http.Request, st *deliveryState) (res handlerResult) {
	defer func() {
		if p := recover(); p != nil {
			res = handlerResult{err: fmt.Errorf("%w: handler panicked: %v", ErrHandler, p), panicked: true}
		}
	}()
	m.next.ServeHTTP(bw, req)
	switch status := bw.status(); {
	case st.err != nil:
		return handlerResult{err: st.err}
	case status < 200 || status > 299:
		return handlerResult{err: fmt.Errorf("%w: handler answered %d", ErrHandler, status)}
	}
	return handlerResult{}
}

// settle ends the claim: done when the handler succeeded, released
// (free for Shopify's retry) when it failed.
func (m *middleware) settle(ctx context.Context, d *Delivery, claim int64, ok bool) error {
	dd := m.v.cfg.deduper
	if dd == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if ok {
		return dd.CompleteDelivery(ctx, d.WebhookID, claim, DedupeRetention)
	}
	return dd.ReleaseDelivery(ctx, d.WebhookID, claim)
}

// readBody reads the whole body, refusing one larger than limit before
// reading past it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d bytes", ErrBodyTooLarge, r.ContentLength, limit)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	size := 512
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1 // +1: EOF without growing
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrReadBody, err)
	}
	return buf.Bytes(), nil
}

// reject writes an error answer.
func reject(w http.ResponseWriter, d *Delivery, status int, err error) answer {
	writeStatus(w, status, ErrorName(err))
	return answer{d: d, status: status, err: err}
}

// writeStatus answers with status and a one-word plain-text body. Shopify
// reads only the status; the word (an error name) helps whoever looks at
// the delivery log.
func writeStatus(w http.ResponseWriter, status int, word string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(word)+1))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, word+"\n")
}

// bufferedWriter holds a handler's response until the middleware knows it
// returned in time.
type bufferedWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.code == 0 && code >= 200 {
		b.code = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) status() int {
	if b.code == 0 {
		return http.StatusOK
	}
	return b.code
}

func (b *bufferedWriter) copyTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	w.WriteHeader(b.status())
	_, _ = w.Write(b.body.Bytes())
}
