package awssm

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestVersionsOf(t *testing.T) {
	tests := []struct {
		name   string
		stages map[string][]string
		want   versionPair
	}{
		{name: "one version", stages: map[string][]string{"v1": {"AWSCURRENT"}}, want: versionPair{current: "v1"}},
		{name: "after a rotation", stages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}}, want: versionPair{"v2", "v1"}},
		{name: "pending and unlabelled versions ignored", stages: map[string][]string{
			"v1": {}, "v2": {"AWSPREVIOUS"}, "v3": {"AWSCURRENT"}, "v4": {"AWSPENDING"},
		}, want: versionPair{"v3", "v2"}},
		{name: "current also labelled previous", stages: map[string][]string{"v1": {"AWSCURRENT", "AWSPREVIOUS"}}, want: versionPair{current: "v1"}},
		// kumo after a third version: two versions keep AWSPREVIOUS.
		{name: "ambiguous previous is stable", stages: map[string][]string{
			"c": {"AWSPREVIOUS"}, "a": {"AWSPREVIOUS"}, "b": {"AWSCURRENT"},
		}, want: versionPair{"b", "a"}},
		{name: "no current", stages: map[string][]string{"v1": {"AWSPREVIOUS"}}, want: versionPair{previous: "v1"}},
		{name: "none", want: versionPair{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionsOf(tt.stages); got != tt.want {
				t.Errorf("versionsOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

var valueSentinels = []error{ErrNotJSON, ErrFieldMissing, ErrEmptyValue, ErrInvalidSecret}

// FuzzKeysFromValue checks the value parser in its three formats: it never
// panics, fails only with its sentinels, agrees with encoding/json on what
// the secret is, and its errors do not depend on the secret values (the
// same input with every string value masked gives the same error).
func FuzzKeysFromValue(f *testing.F) {
	for _, seed := range []string{
		"shpss_0123456789abcdef", "shpss_0123456789abcdef0123456789abcdef", "\ufeffshpss_0123456789abcdef0123456789abcdef\n",
		`{"0123456789abcdef0123456789abcdef":"fedcba9876543210fedcba9876543210"}`, `{"shpss_0123456789abcdef0123456789abcdef":"0123456789abcdef0123456789abcdef"}`,
		`{"b":"0123456789abcdef0123456789abcdef","a":"fedcba9876543210fedcba9876543210"}`,
		"  spaced \n", "", " ", `{"SHOPIFY_API_SECRET":"s"}`,
		`{"SHOPIFY_API_SECRET":""}`, `{"SHOPIFY_API_SECRET":1}`, `{"a":"s1","b":"s2"}`, `{"":"s"}`,
		`{"a":{"b":"c"}}`, `[]`, `null`, `"str"`, `{"a":"\u0000"}`, "{\"a\":\"\xff\"}",
	} {
		for mode := range byte(3) {
			f.Add(mode, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, mode byte, value []byte) {
		cfg := config{}
		switch mode % 3 {
		case 1:
			cfg.jsonField = "SHOPIFY_API_SECRET"
		case 2:
			cfg.clientMap = true
		}
		str := string(value)
		keys, err := cfg.keysFromValue("id", "v1", &str, nil)
		if err != nil {
			if keys != nil {
				t.Fatal("keys with an error")
			}
			if !isOneOf(err, valueSentinels) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if masked, ok := maskValues(value); ok {
				ms := string(masked)
				_, err2 := cfg.keysFromValue("id", "v1", &ms, nil)
				if err2 == nil || err2.Error() != err.Error() {
					t.Fatalf("the error depends on secret values:\n%v\n%v", err, err2)
				}
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if k.Secret.Len() == 0 || seen[k.ID] || !strings.HasPrefix(k.ID, "v1") {
				t.Fatalf("bad key %q (len %d)", k.ID, k.Secret.Len())
			}
			seen[k.ID] = true
		}
		switch mode % 3 {
		case 0:
			if string(keys[0].Secret.Bytes()) != refTrim(string(value)) {
				t.Fatal("plain secret differs from the trimmed value")
			}
		case 1:
			var m map[string]any
			if err := json.Unmarshal(value, &m); err != nil {
				t.Fatalf("accepted what encoding/json rejects: %v", err)
			}
			if s, _ := m["SHOPIFY_API_SECRET"].(string); string(keys[0].Secret.Bytes()) != refTrim(s) {
				t.Fatal("field secret differs from encoding/json's")
			}
		case 2:
			var m map[string]string
			if err := json.Unmarshal(value, &m); err != nil {
				t.Fatalf("accepted what encoding/json rejects: %v", err)
			}
			if len(keys) != len(m) {
				t.Fatalf("%d keys for %d clients", len(keys), len(m))
			}
			// The ID is the version and the client's position in client ID
			// order, never the map's key: a client ID such as "1" may
			// still occur in it.
			for i, k := range keys {
				inOrder := i == 0 || keys[i-1].ClientID < k.ClientID
				if !inOrder || string(k.Secret.Bytes()) != refTrim(m[k.ClientID]) || k.ID != "v1/client-"+strconv.Itoa(i+1) {
					t.Fatalf("client %q: wrong key", k.ClientID)
				}
			}
		}
	})
}

// refTrim is the documented trimming: white space, then a leading byte
// order mark and the white space after it.
func refTrim(s string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "\ufeff"))
}

func isOneOf(err error, targets []error) bool {
	for _, s := range targets {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// maskValues re-encodes a JSON object with each top-level string value
// replaced by one of the same class: empty after trimming stays "", a
// possible secret becomes 32 x's, anything else "x". It reports false for
// non-objects.
func maskValues(value []byte) ([]byte, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(value, &m); err != nil || m == nil {
		return nil, false
	}
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		masked := ""
		switch {
		case len(trim([]byte(s))) == 0:
		case isSecret(trim([]byte(s))):
			masked = strings.Repeat("x", 32)
		default:
			masked = "x"
		}
		m[k], _ = json.Marshal(masked)
	}
	out, err := json.Marshal(m)
	return out, err == nil
}
