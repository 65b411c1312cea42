package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/possession-dev/possession/sdk/sdktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	cliSecret   = "shpss_cli-test-secret-value-0123456789"
	cliClientID = "cli-client"
	cliShop     = "cli-shop.myshopify.com"
)

var cliNow = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func cliMinter() sdktest.Minter {
	return sdktest.Minter{Secret: cliSecret, ClientID: cliClientID, Shop: cliShop, UserID: "9", Now: func() time.Time { return cliNow }, EscapeSlashes: true}
}

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command in-process with a fixed clock, the given stdin and
// environment variables ($SHOPIFY_API_KEY unset unless given).
func cli(t *testing.T, stdin string, vars map[string]string, args ...string) result {
	t.Helper()
	for k, v := range vars {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	code := run(args, env{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errOut,
		getenv: func(k string) string { return vars[k] },
		now:    func() time.Time { return cliNow },
	})
	r := result{code, out.String(), errOut.String()}
	if strings.Contains(r.stdout+r.stderr, cliSecret) {
		t.Errorf("the secret was printed:\n%s\n%s", r.stdout, r.stderr)
	}
	return r
}

func TestUsageAndHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"no command", nil, exitUsage, "", "Usage:"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, exitOK, "Exit codes:", ""},
		{"--help", []string{"--help"}, exitOK, "Examples:", ""},
		{"inspect --help", []string{"inspect", "--help"}, exitOK, "possession inspect -client-id", ""},
		{"verify -h", []string{"verify", "-h"}, exitOK, "-secret-file", ""},
		{"mint --help", []string{"mint", "--help"}, exitOK, "-issued -2h", ""},
		{"bad flag", []string{"verify", "-nope"}, exitUsage, "", "flag provided but not defined"},
		{"two tokens", []string{"inspect", "a", "b"}, exitUsage, "", "want one TOKEN"},
		{"empty stdin", []string{"inspect"}, exitUsage, "", "no token on stdin"},
		{"verify without client ID", []string{"verify", "x.y.z"}, exitUsage, "", "-client-id"},
		{"mint without client ID", []string{"mint"}, exitUsage, "", "-client-id"},
		{"mint bad kind", []string{"mint", "-client-id", "c", "-kind", "storefront"}, exitUsage, "", "-kind"},
		{"mint stray argument", []string{"mint", "-client-id", "c", "extra"}, exitUsage, "", "unexpected argument"},
		{"inspect bad -now", []string{"inspect", "-now", "yesterday", "x.y.z"}, exitUsage, "", "-now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", nil, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("code %d (want %d)\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
		})
	}
}

func TestVerifyExitCodes(t *testing.T) {
	m := cliMinter()
	secretVars := map[string]string{"SHOPIFY_API_SECRET": cliSecret, "SHOPIFY_API_KEY": cliClientID}
	tests := []struct {
		name     string
		token    string
		vars     map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"valid", m.Admin(), secretVars, nil, exitOK, ""},
		{"malformed", "not.a.jwt", secretVars, nil, exitMalformed, "(malformed)"},
		{"alg none", mustSignRaw(t, `{"alg":"none"}`, `{}`), secretVars, nil, exitAlgorithm, "(algorithm)"},
		{"forged", sdktest.Minter{Secret: "other", ClientID: cliClientID, Now: m.Now}.Admin(), secretVars, nil, exitSignature, "(signature)"},
		{"expired", m.Admin(sdktest.At(cliNow.Add(-time.Hour))), secretVars, nil, exitExpired, "(expired)"},
		{"not yet valid", m.Admin(sdktest.At(cliNow.Add(time.Hour))), secretVars, nil, exitNotYetValid, "(not_yet_valid)"},
		{"other app", m.Admin(sdktest.Set("aud", "other")), secretVars, nil, exitAudience, "(audience)"},
		{"other app accepted without audience check", m.Admin(sdktest.Set("aud", "other")), secretVars, []string{"-no-audience-check"}, exitOK, ""},
		{"bad dest", m.Admin(sdktest.Set("dest", "https://evil.example")), secretVars, nil, exitIssuer, "(issuer)"},
		{"checkout token by default", m.Checkout(), secretVars, nil, exitKind, "(kind)"},
		{"bad -kinds", m.Admin(), secretVars, []string{"-kinds", "staff"}, exitUsage, "-kinds"},
		{"secret unset", m.Admin(), map[string]string{"SHOPIFY_API_KEY": cliClientID}, []string{"-secret-env", "POSSESSION_CLI_TEST_UNSET"}, exitNoSecret, "POSSESSION_CLI_TEST_UNSET"},
		{"secret empty", m.Admin(), map[string]string{"SHOPIFY_API_KEY": cliClientID, "POSSESSION_CLI_TEST_EMPTY": " "}, []string{"-secret-env", "POSSESSION_CLI_TEST_EMPTY"}, exitNoSecret, "empty secret"},
		{"secret file missing", m.Admin(), map[string]string{"SHOPIFY_API_KEY": cliClientID}, []string{"-secret-file", filepath.Join(t.TempDir(), "missing")}, exitNoSecret, "no such file"},
		{"previous secret during rotation", sdktest.Minter{Secret: "shpss_old-cli-test-secret-0123456789ab", ClientID: cliClientID, Shop: cliShop, Now: m.Now}.Admin(),
			map[string]string{"SHOPIFY_API_SECRET": cliSecret, "SHOPIFY_API_SECRET_PREVIOUS": "shpss_old-cli-test-secret-0123456789ab", "SHOPIFY_API_KEY": cliClientID}, nil, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"verify"}, tt.args...)
			r := cli(t, "", tt.vars, append(args, tt.token)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("code %d (want %d)\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if r.code == exitOK && (!strings.Contains(r.stdout, "VALID admin token") || !strings.Contains(r.stdout, "shop:        "+cliShop) && !strings.Contains(r.stdout, "example.myshopify.com")) {
				t.Errorf("stdout: %s", r.stdout)
			}
			if r.code != exitOK && r.stdout != "" {
				t.Errorf("output on failure: %s", r.stdout)
			}
		})
	}
}

func TestVerifySecretFileAndStdin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(cliSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := cliMinter().Admin()
	r := cli(t, "Bearer "+tok+"\n", nil, "verify", "-secret-file", path, "-client-id", cliClientID, "-")
	if r.code != exitOK || !strings.Contains(r.stdout, "signed with: file:current") || !strings.Contains(r.stdout, "expires:     2026-05-04T10:01:00Z (in 1m0s)") {
		t.Fatalf("code %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

func mustSignRaw(t *testing.T, header, payload string) string {
	t.Helper()
	tok, err := sdktest.SignRaw(cliSecret, []byte(header), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestInspect(t *testing.T) {
	m := cliMinter()
	tests := []struct {
		name     string
		token    string
		args     []string
		wantCode int
		want     []string // lines in stdout
		notWant  []string
	}{
		{
			name: "valid", token: m.Admin(), args: []string{"-client-id", cliClientID}, wantCode: exitOK,
			want: []string{
				`header:  {"alg":"HS256","typ":"JWT"}`,
				`dest  "https://cli-shop.myshopify.com"`,
				"exp   1777888860 = 2026-05-04T10:01:00Z, in 1m0s",
				"lifetime: 1m0s",
				"skip  signature: needs the secret",
				"ok    exp (with leeway)", "ok    aud is the client ID", "ok    dest is a shop, iss matches",
				"verdict: every rule inspect can check passes",
			},
		},
		{
			name: "expired, wrong audience and wrong issuer: all reported", token: m.Admin(sdktest.At(cliNow.Add(-3*time.Minute)), sdktest.Set("aud", "other"), sdktest.Set("iss", "https://evil.myshopify.com/admin")),
			args: []string{"-client-id", cliClientID}, wantCode: exitExpired,
			want: []string{
				"exp   1777888680 = 2026-05-04T09:58:00Z, 2m0s ago",
				"FAIL  exp (with leeway): sdk: token expired: exp was 120s ago (leeway 10s)",
				"ok    nbf and iat (with leeway)",
				`FAIL  aud is the client ID: sdk: wrong audience: aud is not a configured client ID`,
				"FAIL  dest is a shop, iss matches: sdk: wrong issuer or destination: iss host differs from dest host",
				"verdict: would be rejected (exit 13)",
			},
		},
		{
			name: "not yet valid", token: m.Admin(sdktest.At(cliNow.Add(time.Minute))), wantCode: exitNotYetValid,
			want: []string{"FAIL  nbf and iat (with leeway)", "skip  aud is the client ID: no -client-id (aud is \"cli-client\")"},
		},
		{
			name: "leeway decides", token: m.Admin(sdktest.At(cliNow.Add(-65 * time.Second))), args: []string{"-leeway", "10s"}, wantCode: exitOK,
			want: []string{"ok    exp (with leeway)"},
		},
		{
			name: "alg none: the claims are still checked", token: mustSignRaw(t, `{"alg":"none","typ":"JWT"}`, string(mustJSON(t, m.AdminClaims()))), wantCode: exitAlgorithm,
			want: []string{`header:  {"alg":"none","typ":"JWT"}`, `FAIL  alg is HS256: sdk: unsupported algorithm: the header's alg is not HS256`, "ok    exp (with leeway)", "ok    dest is a shop, iss matches"},
		},
		{
			name: "dest not a shop", token: m.Admin(sdktest.Set("dest", "https://evil.example"), sdktest.Set("iss", "https://evil.example/admin")), wantCode: exitIssuer,
			want: []string{"FAIL  dest is a shop, iss matches: sdk: wrong issuer or destination: dest host is not a shop domain"},
		},
		{
			name: "no exp: malformed, later rules unknown", token: m.Admin(sdktest.Delete("exp")), wantCode: exitMalformed,
			want: []string{"FAIL  shape and encoding: sdk: malformed token: no exp claim", "?     exp (with leeway): not checked"},
		},
		{
			name: "checkout token", token: m.Checkout(sdktest.Set("sub", "gid://shopify/Customer/5")), wantCode: exitOK,
			want: []string{`dest  "cli-shop.myshopify.com"`, `sub   "gid://shopify/Customer/5"`, "lifetime: 5m0s"},
		},
		{
			name: "-now moves the clock", token: m.Admin(), args: []string{"-now", "2026-05-04T11:00:00Z"}, wantCode: exitExpired,
			want: []string{"rules at 2026-05-04T11:00:00Z", "59m0s ago"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", nil, append(append([]string{"inspect"}, tt.args...), tt.token)...)
			if r.code != tt.wantCode {
				t.Fatalf("code %d (want %d)\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			sig := tt.token[strings.LastIndexByte(tt.token, '.')+1:]
			if strings.Contains(r.stdout, tt.token) || strings.Contains(r.stdout, sig) {
				t.Error("inspect printed the token or its signature")
			}
		})
	}
}

// TestInspectSignatureShape: inspect checks the signature segment's shape
// as Verify does (issue 10, finding 9a): strict base64url, and 32 bytes
// once alg is HS256; and each token gets the exit code that verify gives
// it with the secret.
func TestInspectSignatureShape(t *testing.T) {
	valid := cliMinter().Admin()
	dot := strings.LastIndexByte(valid, '.')
	body, sig := valid[:dot], valid[dot+1:]
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	_, payload, _ := strings.Cut(body, ".")
	tests := []struct {
		name, token string
		wantCode    int
		want        string // in stdout (decodable) or stderr
	}{
		{"valid", valid, exitOK, "ok    shape and encoding"},
		{"30-byte signature", body + "." + sig[:40], exitMalformed, "FAIL  shape and encoding: sdk: malformed token: signature segment is 40 characters, HS256 needs 43"},
		{"empty signature", body + ".", exitMalformed, "signature segment is 0 characters"},
		{"33-byte signature", body + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 33)), exitMalformed, "signature segment is 44 characters"},
		{"signature not base64url", body + "." + strings.Repeat("$", 43), exitMalformed, "signature is not base64url"},
		{"padded signature", body + "." + sig + "=", exitMalformed, "signature is not base64url"},
		{"non-canonical signature", body + "." + sig[:42] + flipLowBits(sig[42]), exitMalformed, "signature is not base64url"},
		{"line break in the signature", body + "." + sig[:10] + "\n" + sig[10:], exitMalformed, "line break"},
		{"alg none, empty signature: the alg decides", noneHeader + "." + payload + ".", exitAlgorithm, "ok    shape and encoding"},
	}
	vars := map[string]string{"SHOPIFY_API_SECRET": cliSecret, "SHOPIFY_API_KEY": cliClientID}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", nil, "inspect", "-client-id", cliClientID, tt.token)
			if r.code != tt.wantCode || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Fatalf("inspect: code %d (want %d, with %q)\nstdout: %s\nstderr: %s", r.code, tt.wantCode, tt.want, r.stdout, r.stderr)
			}
			if v := cli(t, "", vars, "verify", tt.token); v.code != r.code {
				t.Fatalf("inspect exits %d, verify %d (%s)", r.code, v.code, v.stderr)
			}
		})
	}
}

// flipLowBits returns the base64url character that differs from c only in
// its lowest bit: for the last character of a 32-byte signature, whose two
// lowest bits are unused, a second spelling that strict decoding refuses.
func flipLowBits(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return string(alphabet[strings.IndexByte(alphabet, c)^1])
}

func TestInspectUndecodable(t *testing.T) {
	for _, tok := range []string{"abc", "a.b", "!!!.e30.sig", "e30.!!!.sig", "bnVsbA.bnVsbA.sig", "e30.WzFd.sig", strings.Repeat("a", 5000)} {
		r := cli(t, tok, nil, "inspect", "-")
		if r.code != exitMalformed || r.stderr == "" {
			t.Errorf("%.20q: code %d, stderr %q", tok, r.code, r.stderr)
		}
	}
}

func mustJSON(t *testing.T, v map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Mint, then verify what was minted: the two commands agree.
func TestMintRoundTrip(t *testing.T) {
	vars := map[string]string{"SHOPIFY_API_SECRET": cliSecret, "SHOPIFY_API_KEY": cliClientID}
	tests := []struct {
		name       string
		mintArgs   []string
		wantVerify int
		wantOut    string
	}{
		{"admin", []string{"-shop", "minted.myshopify.com", "-user", "55"}, exitOK, "user:        55"},
		{"checkout", []string{"-kind", "checkout", "-shop", "minted.myshopify.com"}, exitKind, ""},
		{"expired", []string{"-issued", "-2h"}, exitExpired, ""},
		{"not yet valid", []string{"-issued", "5m"}, exitNotYetValid, ""},
		{"long ttl", []string{"-issued", "-2h", "-ttl", "3h"}, exitOK, "expires:     2026-05-04T11:00:00Z (in 1h0m0s)"},
		{"other client", []string{"-client-id", "someone-else"}, exitAudience, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", vars, append([]string{"mint"}, tt.mintArgs...)...)
			if r.code != exitOK {
				t.Fatalf("mint: code %d, stderr %s", r.code, r.stderr)
			}
			tok := strings.TrimSpace(r.stdout)
			if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \n") {
				t.Fatalf("mint stdout is not just a token: %q", r.stdout)
			}
			if !strings.Contains(r.stderr, "development token") {
				t.Errorf("mint stderr: %q", r.stderr)
			}
			v := cli(t, "", vars, "verify", tok)
			if v.code != tt.wantVerify || !strings.Contains(v.stdout, tt.wantOut) {
				t.Fatalf("verify: code %d (want %d)\nstdout: %s\nstderr: %s", v.code, tt.wantVerify, v.stdout, v.stderr)
			}
			// Every kind with -kinds admin,checkout, as with sdk.WithKinds.
			if tt.wantVerify == exitKind {
				v := cli(t, "", vars, "verify", "-kinds", "admin,checkout", tok)
				if v.code != exitOK || !strings.Contains(v.stdout, "VALID checkout token") {
					t.Fatalf("verify -kinds admin,checkout: code %d\nstdout: %s\nstderr: %s", v.code, v.stdout, v.stderr)
				}
			}
		})
	}
	t.Run("no secret", func(t *testing.T) {
		r := cli(t, "", map[string]string{"SHOPIFY_API_KEY": cliClientID}, "mint", "-secret-env", "POSSESSION_CLI_TEST_UNSET")
		if r.code != exitNoSecret || r.stdout != "" {
			t.Fatalf("code %d, stdout %q", r.code, r.stdout)
		}
	})
	t.Run("negative ttl", func(t *testing.T) {
		if r := cli(t, "", vars, "mint", "-ttl", "-1s"); r.code != exitUsage {
			t.Fatalf("code %d", r.code)
		}
	})
}
