package awssm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/possession-dev/possession/keysource"
)

// keysFromValue turns one secret version's value into keys, following the
// configured format. Errors name the version, never the value: JSON
// decoding errors are not wrapped because their messages quote the
// offending character.
func (c *config) keysFromValue(secretID, versionID string, str *string, bin []byte) ([]keysource.Key, error) {
	var raw []byte
	isString := str != nil
	if isString {
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
		for _, id := range ids {
			if strings.TrimSpace(id) == "" {
				return nil, fmt.Errorf("%w: %s: empty client ID in the JSON client map", ErrNotJSON, where)
			}
			secret := strings.TrimSpace(m[id])
			if secret == "" {
				return nil, fmt.Errorf("%w: %s: client %q", ErrEmptyValue, where, id)
			}
			keys = append(keys, keysource.Key{ID: versionID + "/" + id, ClientID: id, Secret: keysource.NewSecret(secret)})
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
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("%w: %s: field %q", ErrEmptyValue, where, c.jsonField)
		}
		return []keysource.Key{{ID: versionID, Secret: keysource.NewSecret(s)}}, nil
	default:
		if isString {
			raw = bytes.TrimSpace(raw)
		}
		if len(raw) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrEmptyValue, where)
		}
		return []keysource.Key{{ID: versionID, Secret: keysource.NewSecretBytes(raw)}}, nil
	}
}
