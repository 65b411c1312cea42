package awssm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/possession-dev/possession/keysource"
)

// keysFromValue turns one secret version's value into keys, following the
// configured format. Errors name the secret and the version, never a
// value, nor a client map's keys (which a map with keys and values
// swapped would make secrets): JSON decoding errors are not wrapped
// because their messages quote the offending character.
func (c *config) keysFromValue(secretID, versionID string, str *string, bin []byte) ([]keysource.Key, error) {
	var raw []byte
	if str != nil {
		raw = []byte(*str)
	} else {
		raw = bin
	}
	where := fmt.Sprintf("secret %q version %q", secretID, versionID)
	switch {
	case c.clientMap:
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return nil, fmt.Errorf("%w: %s: want a JSON object of client ID to secret string", ErrNotJSON, where)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%w: %s: the JSON client map is empty", ErrEmptyValue, where)
		}
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		keys := make([]keysource.Key, 0, len(ids))
		for i, id := range ids {
			// Clients are named by position (in client ID order), never by
			// ID: should keys and values be swapped, the "IDs" are secrets.
			if err := checkClientID(id); err != nil {
				return nil, fmt.Errorf("%w: %s: client %d of the JSON client map: %w", ErrNotJSON, where, i+1, err)
			}
			secret := trim([]byte(m[id]))
			if len(secret) == 0 {
				return nil, fmt.Errorf("%w: %s: the secret of client %d of the JSON client map", ErrEmptyValue, where, i+1)
			}
			if !isSecret(secret) {
				return nil, fmt.Errorf("%w: %s: the secret of client %d of the JSON client map: %s", ErrInvalidSecret, where, i+1, secretShape)
			}
			// The ID says which version and which of its clients; the
			// client ID itself is Session.ClientID (aud).
			keys = append(keys, keysource.Key{ID: versionID + "/client-" + strconv.Itoa(i+1), ClientID: id, Secret: keysource.NewSecretBytes(secret)})
		}
		return keys, nil
	case c.jsonField != "":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return nil, fmt.Errorf("%w: %s: want a JSON object with field %q", ErrNotJSON, where, c.jsonField)
		}
		field, ok := m[c.jsonField]
		if !ok {
			return nil, fmt.Errorf("%w: %s has no field %q", ErrFieldMissing, where, c.jsonField)
		}
		var s string
		if err := json.Unmarshal(field, &s); err != nil {
			return nil, fmt.Errorf("%w: %s: field %q is not a string", ErrFieldMissing, where, c.jsonField)
		}
		secret := trim([]byte(s))
		if len(secret) == 0 {
			return nil, fmt.Errorf("%w: %s: field %q", ErrEmptyValue, where, c.jsonField)
		}
		if !isSecret(secret) {
			return nil, fmt.Errorf("%w: %s: field %q: %s", ErrInvalidSecret, where, c.jsonField, secretShape)
		}
		return []keysource.Key{{ID: versionID, Secret: keysource.NewSecretBytes(secret)}}, nil
	default:
		secret := trim(raw)
		if len(secret) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrEmptyValue, where)
		}
		if looksLikeJSONObject(secret) {
			// No secret starts with '{': the whole object would be the key.
			return nil, fmt.Errorf("%w: %s: the value is a JSON object: pass WithJSONField or WithJSONClientMap", ErrInvalidSecret, where)
		}
		if !isSecret(secret) {
			return nil, fmt.Errorf("%w: %s: %s", ErrInvalidSecret, where, secretShape)
		}
		return []keysource.Key{{ID: versionID, Secret: keysource.NewSecretBytes(secret)}}, nil
	}
}

// secretShape says what a Shopify client secret looks like, for errors
// that must not say what the value looked like instead.
var secretShape = fmt.Sprintf("want at least %d printable ASCII characters without white space", keysource.MinSecretLen)

// utf8BOM is the byte order mark some editors write at the start of a
// UTF-8 file, and that a value pasted or uploaded from one then starts
// with.
const utf8BOM = "\ufeff"

// trim removes surrounding white space and a leading byte order mark.
func trim(b []byte) []byte {
	return bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(b), []byte(utf8BOM)))
}

// isSecret reports whether b can be a Shopify client secret, as
// keysource's own sources require: at least keysource.MinSecretLen
// printable ASCII characters, none of them white space. A secret stored
// as SecretBinary is held to the same shape: Shopify's secrets are text.
func isSecret(b []byte) bool {
	if len(b) < keysource.MinSecretLen {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// looksLikeJSONObject reports whether a non-empty value is, by its ends,
// a JSON object.
func looksLikeJSONObject(b []byte) bool { return b[0] == '{' && b[len(b)-1] == '}' }

// maxClientID bounds a client ID. Shopify's are 32 characters.
const maxClientID = 255

// checkClientID says why a client map's key cannot be a client ID,
// without showing it.
func checkClientID(id string) error {
	if strings.TrimSpace(id) == "" {
		return errors.New("empty client ID")
	}
	if len(id) > maxClientID {
		return fmt.Errorf("a client ID longer than %d bytes", maxClientID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return errors.New("a client ID with white space, a control character or a character that is not ASCII")
		}
	}
	if isSecretPrefixed(id) {
		return errors.New(`the map's key looks like a Shopify secret ("shp..._" prefix): keys are client IDs and values their secrets; are they swapped?`)
	}
	return nil
}

// isSecretPrefixed reports whether s starts as Shopify's secrets and
// tokens do: "shp", two letters and "_" (shpss_ client secrets, shpat_
// and shpca_ access tokens, ...). No client ID does.
func isSecretPrefixed(s string) bool {
	if len(s) < 6 || !strings.HasPrefix(s, "shp") || s[5] != '_' {
		return false
	}
	for _, c := range s[3:5] {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
