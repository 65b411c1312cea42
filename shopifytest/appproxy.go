package shopifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AppProxyQuery returns the query Shopify sends an app proxy: params plus
// timestamp (at, unless params has one) and signature, the hex
// HMAC-SHA256 with clientSecret of the parameters sorted by key, each
// key=value with a repeated key's values joined by ",", nothing between
// them. Add shop, path_prefix and, for a logged-in customer,
// logged_in_customer_id to params as Shopify does.
func AppProxyQuery(clientSecret string, params url.Values, at time.Time) string {
	q := url.Values{}
	for k, vs := range params {
		q[k] = append([]string(nil), vs...)
	}
	if !q.Has("timestamp") {
		q.Set("timestamp", strconv.FormatInt(at.Unix(), 10))
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var msg strings.Builder
	for _, k := range keys {
		msg.WriteString(k + "=" + strings.Join(q[k], ","))
	}
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte(msg.String()))
	q.Set("signature", hex.EncodeToString(m.Sum(nil)))
	return q.Encode()
}
