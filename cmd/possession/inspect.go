package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

const inspectExamples = `  pbpaste | possession inspect
  possession inspect -client-id abc123 eyJhbGciOi...
  possession inspect -now 2026-03-01T12:00:00Z - < token.txt
`

// rule is one of the checks sdk.Verify makes, in its order.
type rule struct {
	name     string
	sentinel error
}

var rules = []rule{
	{"shape and encoding", sdk.ErrMalformed},
	{"alg is HS256", sdk.ErrAlgorithm},
	{"signature", sdk.ErrSignature},
	{"exp (with leeway)", sdk.ErrExpired},
	{"nbf and iat (with leeway)", sdk.ErrNotYetValid},
	{"aud is the client ID", sdk.ErrAudience},
	{"dest is a shop, iss matches", sdk.ErrIssuer},
}

// runInspect decodes a token without trusting it, then finds the rules it
// would fail by running sdk.Verify itself on a copy re-signed with a
// throwaway key (so the signature passes and the claim checks run), fixing
// each failed claim in turn to find the next failure.
func runInspect(args []string, e env) int {
	fs := newFlagSet("inspect", "[flags] [TOKEN|-]", inspectExamples)
	clientID := fs.String("client-id", e.getenv(defaultClientEnv), "check aud against this client ID (default $"+defaultClientEnv+"; empty: aud not checked)")
	leeway := fs.Duration("leeway", 10*time.Second, "clock-skew allowance for exp, nbf and iat")
	nowFlag := fs.String("now", "", "evaluate times at this RFC 3339 instant instead of the current time")
	if code, done := parseFlags(fs, args, e); done {
		return code
	}
	now := e.now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(e.stderr, "possession inspect: -now: %v\n", err)
			return exitUsage
		}
		now = t
	}
	token, err := readToken(fs, e)
	if err != nil {
		fmt.Fprintf(e.stderr, "possession inspect: %v\n", err)
		return exitUsage
	}

	header, payload, sig, err := decodeSegments(token)
	if err != nil {
		fmt.Fprintf(e.stderr, "possession inspect: %v\n", err)
		return exitMalformed
	}
	w := e.stdout
	fmt.Fprintf(w, "header:  %s\n", compactJSON(header))
	claims, err := decodeClaims(payload)
	if err != nil {
		fmt.Fprintf(w, "claims:  %s\n", compactJSON(payload))
		fmt.Fprintf(e.stderr, "possession inspect: claims are not a JSON object: %v\n", err)
		return exitMalformed
	}
	printClaims(w, claims, now)
	fmt.Fprintf(w, "signature: not checked (inspect uses no secret; run \"possession verify\")\n")

	failures, stopped := findFailures(header, payload, claims, *clientID, *leeway, now)
	// The re-signed copies carry a signature of their own: the original's
	// shape is checked here, as Verify does once alg is HS256.
	if len(sig) != sha256.Size && failures[sdk.ErrAlgorithm] == nil && failures[sdk.ErrMalformed] == nil {
		failures[sdk.ErrMalformed] = fmt.Errorf("%w: signature segment is %d characters, HS256 needs %d",
			sdk.ErrMalformed, base64.RawURLEncoding.EncodedLen(len(sig)), base64.RawURLEncoding.EncodedLen(sha256.Size))
	}
	fmt.Fprintf(w, "rules at %s (leeway %v):\n", now.UTC().Format(time.RFC3339), *leeway)
	code := exitOK
	reached := true
	for _, r := range rules {
		switch {
		case r.sentinel == sdk.ErrSignature:
			fmt.Fprintf(w, "  skip  %s: needs the secret\n", r.name)
		case r.sentinel == sdk.ErrAudience && *clientID == "":
			fmt.Fprintf(w, "  skip  %s: no -client-id (aud is %s)\n", r.name, claimString(claims, "aud"))
		case failures[r.sentinel] != nil:
			fmt.Fprintf(w, "  FAIL  %s: %v\n", r.name, failures[r.sentinel])
			if code == exitOK {
				code = exitCode(failures[r.sentinel])
			}
		case !reached:
			fmt.Fprintf(w, "  ?     %s: not checked (an earlier rule failed in a way inspect cannot work around)\n", r.name)
		default:
			fmt.Fprintf(w, "  ok    %s\n", r.name)
		}
		if stopped != nil && errors.Is(stopped, r.sentinel) {
			reached = false
		}
	}
	if code == exitOK {
		fmt.Fprintln(w, "verdict: every rule inspect can check passes; the signature decides")
	} else {
		fmt.Fprintf(w, "verdict: would be rejected (exit %d)\n", code)
	}
	return code
}

// decodeSegments splits a compact JWS and decodes its three segments,
// each strict base64url as Verify wants them (the signature's too, though
// inspect has no secret to check it with).
func decodeSegments(token string) (header, payload, sig []byte, err error) {
	if len(token) > sdk.MaxTokenSize {
		return nil, nil, nil, fmt.Errorf("token is %d bytes, the verifier's limit is %d", len(token), sdk.MaxTokenSize)
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, nil, nil, errors.New("line break inside the token")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, nil, fmt.Errorf("not a JWT: %d dot-separated segments, want 3", len(parts))
	}
	strict := base64.RawURLEncoding.Strict()
	if header, err = strict.DecodeString(parts[0]); err != nil {
		return nil, nil, nil, fmt.Errorf("header is not base64url: %w", err)
	}
	if payload, err = strict.DecodeString(parts[1]); err != nil {
		return nil, nil, nil, fmt.Errorf("payload is not base64url: %w", err)
	}
	if sig, err = strict.DecodeString(parts[2]); err != nil {
		return nil, nil, nil, fmt.Errorf("signature is not base64url: %w", err)
	}
	return header, payload, sig, nil
}

func decodeClaims(payload []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var claims map[string]any
	if err := d.Decode(&claims); err != nil {
		return nil, err
	}
	if claims == nil {
		return nil, errors.New("null")
	}
	return claims, nil
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return fmt.Sprintf("%q (not JSON)", b)
	}
	return buf.String()
}

// claimOrder lists the claims Shopify sends, in a readable order, with
// what they mean.
var claimOrder = []struct{ name, meaning string }{
	{"iss", "issuer: the shop's admin URL"},
	{"dest", "destination: the shop (Session.Shop is its host)"},
	{"aud", "audience: the app's client ID"},
	{"sub", "subject: the user (Session.UserID)"},
	{"iat", "issued at"},
	{"nbf", "not before"},
	{"exp", "expires"},
	{"jti", "token ID"},
	{"sid", "session ID"},
}

func printClaims(w io.Writer, claims map[string]any, now time.Time) {
	fmt.Fprintln(w, "claims:")
	seen := map[string]bool{}
	for _, c := range claimOrder {
		v, ok := claims[c.name]
		if !ok {
			continue
		}
		seen[c.name] = true
		fmt.Fprintf(w, "  %-5s %s  (%s)\n", c.name, claimValue(v, now), c.meaning)
	}
	var rest []string
	for name := range claims {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		fmt.Fprintf(w, "  %-5s %s\n", name, claimValue(claims[name], now))
	}
	if exp, ok := claimTime(claims, "exp"); ok {
		if iat, ok := claimTime(claims, "iat"); ok {
			fmt.Fprintf(w, "lifetime: %v (Shopify issues 60s admin/POS tokens, 5m checkout tokens)\n", exp.Sub(iat))
		}
	}
}

func claimValue(v any, now time.Time) string {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil && i > 1e9 && i < 1e11 {
			t := time.Unix(i, 0).UTC()
			return fmt.Sprintf("%d = %s, %s", i, t.Format(time.RFC3339), relative(t, now))
		}
		return n.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func claimTime(claims map[string]any, name string) (time.Time, bool) {
	n, ok := claims[name].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	i, err := n.Int64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(i, 0), true
}

func claimString(claims map[string]any, name string) string {
	v, ok := claims[name]
	if !ok {
		return "absent"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

const standardHeader = `{"alg":"HS256","typ":"JWT"}`

// findFailures runs sdk.Verify on re-signed copies of the token and
// returns the error of each rule that fails, and the error it could not
// work around (nil if it reached the end).
func findFailures(header, payload []byte, claims map[string]any, clientID string, leeway time.Duration, now time.Time) (map[error]error, error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // a throwaway key, never shown
	secret := base64.RawURLEncoding.EncodeToString(key)
	// Every kind: inspect reports the kind, and verify -kinds decides.
	opts := []sdk.Option{sdk.WithClock(func() time.Time { return now }), sdk.WithLeeway(leeway), sdk.WithCacheSize(0),
		sdk.WithKinds(sdk.KindAdmin, sdk.KindCheckout)}
	if clientID != "" {
		opts = append(opts, sdk.WithClientID(clientID))
	} else {
		opts = append(opts, sdk.WithoutAudienceCheck())
	}
	v, err := sdk.New(keysource.MustStatic(secret), opts...)
	if err != nil {
		return map[error]error{sdk.ErrMalformed: err}, err
	}

	failures := map[error]error{}
	claims = maps.Clone(claims)
	droppedIss := false
	for range len(rules) + 1 {
		tok, err := sdktest.SignRaw(secret, header, payload)
		if err != nil {
			return failures, err
		}
		_, err = v.Verify(context.Background(), tok)
		if err == nil {
			return failures, nil
		}
		for _, r := range rules {
			if errors.Is(err, r.sentinel) && failures[r.sentinel] == nil {
				failures[r.sentinel] = err
			}
		}
		// Fix what failed and look for the next failure.
		nowUnix := json.Number(fmt.Sprint(now.Unix()))
		switch {
		case errors.Is(err, sdk.ErrAlgorithm):
			header = []byte(standardHeader)
		case errors.Is(err, sdk.ErrExpired):
			claims["exp"] = json.Number(fmt.Sprint(now.Add(time.Hour).Unix()))
		case errors.Is(err, sdk.ErrNotYetValid):
			claims["nbf"], claims["iat"] = nowUnix, nowUnix
		case errors.Is(err, sdk.ErrAudience) && clientID != "":
			claims["aud"] = clientID
		case errors.Is(err, sdk.ErrIssuer) && !droppedIss:
			// Is dest at fault, or only iss? Drop iss to find out.
			if _, ok := claims["iss"]; !ok {
				return failures, err
			}
			delete(claims, "iss")
			droppedIss = true
		default:
			return failures, err
		}
		if payload, err = json.Marshal(claims); err != nil {
			return failures, err
		}
	}
	return failures, nil
}
