package webhook

import (
	"net/http"
	"strings"
	"time"
)

// Family tells which set of headers a delivery came with.
type Family uint8

const (
	// Classic deliveries carry X-Shopify-Hmac-Sha256, X-Shopify-Topic,
	// X-Shopify-Shop-Domain, X-Shopify-API-Version, X-Shopify-Webhook-Id
	// and optionally X-Shopify-Event-Id, X-Shopify-Triggered-At.
	Classic Family = iota + 1
	// Events deliveries (Shopify's newer events family) carry the same
	// values in lower-case headers without the X- prefix:
	// shopify-hmac-sha256, shopify-topic, shopify-shop-domain,
	// shopify-api-version, shopify-webhook-id, shopify-event-id (required)
	// and optionally shopify-triggered-at, shopify-handle,
	// shopify-action, shopify-resource-id.
	Events
)

// String returns "classic" or "events".
func (f Family) String() string {
	switch f {
	case Classic:
		return "classic"
	case Events:
		return "events"
	}
	return "unknown"
}

// Delivery is one verified webhook request. Only Body is signed: Shopify's
// HMAC covers the body, not the headers, so Topic, Shop and the IDs are
// what the sender claims. The compliance handlers therefore take the shop
// from the signed body and refuse a body that names another shop.
type Delivery struct {
	// Family is the header set the delivery came with. A request carrying
	// the events family's shopify-hmac-sha256 is read as Events, as
	// Shopify's own library does.
	Family Family
	// Topic is the topic header as sent: "orders/create".
	Topic string
	// Shop is the shop's domain: "example.myshopify.com".
	Shop string
	// APIVersion is the Admin API version of the payload: "2026-07".
	APIVersion string
	// WebhookID identifies the delivery; every retry of it carries the
	// same ID. It is the key the Deduper remembers.
	WebhookID string
	// EventID identifies the event the delivery reports (several
	// subscriptions can deliver one event). Required in the events
	// family, optional in the classic one.
	EventID string
	// TriggeredAt is when the event happened; a retry carries the
	// original time. Zero when the header is absent or not RFC 3339.
	TriggeredAt time.Time
	// Stale is set when WithMaxAge is configured with StaleFlag and
	// TriggeredAt is older than the bound.
	Stale bool
	// KeyID names the key whose HMAC matched: the current secret's, or a
	// previous one's during a rotation. Never the secret.
	KeyID string
	// Body is the raw body, exactly as signed. Shared: do not modify it.
	Body []byte
	// Header is the request's header, for the headers Delivery does not
	// name (X-Shopify-Name, shopify-handle, ...).
	Header http.Header
}

// Shopify's webhook headers, by family: the names below follow
// X-Shopify- (classic) or shopify- (events).
const (
	hdrHMAC = iota
	hdrTopic
	hdrShop
	hdrAPIVersion
	hdrWebhookID
	hdrEventID
	hdrTriggeredAt
	numHeaders
)

var headerSuffixes = [numHeaders]string{
	hdrHMAC:        "Hmac-Sha256",
	hdrTopic:       "Topic",
	hdrShop:        "Shop-Domain",
	hdrAPIVersion:  "Api-Version",
	hdrWebhookID:   "Webhook-Id",
	hdrEventID:     "Event-Id",
	hdrTriggeredAt: "Triggered-At",
}

// familyPrefixes are the families' header prefixes, indexed by Family-1.
var familyPrefixes = [2]string{"X-Shopify-", "Shopify-"}

// headerName returns the canonical name of header i of family f.
func headerName(f Family, i int) string { return familyPrefixes[f-1] + headerSuffixes[i] }

// shopifyHeaders holds the values of Shopify's headers found in one
// http.Header: the first value list under any spelling of the name, and
// how many values all spellings hold together.
//
// net/http canonicalises header names, so direct lookups find them. A
// header built by other code (a test, a serverless adapter) may spell
// them as Shopify does ("X-Shopify-API-Version") or in lower case, as
// HTTP and Shopify's library allow: when the HMAC header or a required
// one is not under its canonical name, the whole header is scanned once
// and every spelling counts. A canonical header (every request net/http
// parsed) never pays for the scan.
type shopifyHeaders struct {
	fam   Family
	first [numHeaders][]string
	count [numHeaders]int
}

// read fills s from h: the family, as Shopify's library decides it
// (Events when the events family's HMAC header is present and not empty,
// Classic otherwise), and that family's headers.
func (s *shopifyHeaders) read(h http.Header) {
	s.fam = Classic
	if v := h[canonicalNames[1][hdrHMAC]]; len(v) > 0 && v[0] != "" {
		s.fam = Events
	}
	names := &canonicalNames[s.fam-1]
	for i := range names {
		if v, ok := h[names[i]]; ok {
			s.first[i], s.count[i] = v, len(v)
		}
	}
	for _, i := range requiredHeaders[s.fam-1] {
		if len(s.first[i]) == 0 || s.first[i][0] == "" {
			s.scan(h)
			return
		}
	}
}

// scan refills s from every spelling of Shopify's header names in h.
func (s *shopifyHeaders) scan(h http.Header) {
	*s = shopifyHeaders{fam: Classic}
	var events shopifyHeaders
	for k, vs := range h {
		var into *shopifyHeaders
		var rest string
		switch {
		case len(k) > 10 && equalFoldASCII(k[:10], "X-Shopify-"):
			into, rest = s, k[10:]
		case len(k) > 8 && equalFoldASCII(k[:8], "Shopify-"):
			into, rest = &events, k[8:]
		default:
			continue
		}
		for i, suffix := range headerSuffixes {
			if equalFoldASCII(rest, suffix) {
				if into.count[i] == 0 {
					into.first[i] = vs
				}
				into.count[i] += len(vs)
				break
			}
		}
	}
	if events.count[hdrHMAC] > 0 && len(events.first[hdrHMAC]) > 0 && events.first[hdrHMAC][0] != "" {
		*s = events
		s.fam = Events
	}
}

// canonicalNames[f][i] is headerName(Family(f+1), i).
var canonicalNames = func() (n [2][numHeaders]string) {
	for f := range n {
		for i := range n[f] {
			n[f][i] = headerName(Family(f+1), i)
		}
	}
	return n
}()

// requiredHeaders are each family's required headers, the HMAC included.
var requiredHeaders = [2][]int{
	{hdrHMAC, hdrTopic, hdrShop, hdrAPIVersion, hdrWebhookID},
	{hdrHMAC, hdrTopic, hdrShop, hdrAPIVersion, hdrWebhookID, hdrEventID},
}

// equalFoldASCII reports whether a and b are equal but for the case of
// ASCII letters: header names are ASCII tokens (RFC 9110), and folding
// only ASCII keeps the Kelvin sign from matching a "k".
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c, d := a[i], b[i]
		if c == d {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// complete reports whether every required header of the family has
// exactly one value, not empty.
func (s *shopifyHeaders) complete() bool {
	for _, i := range requiredHeaders[s.fam-1] {
		if s.count[i] != 1 || len(s.first[i]) != 1 || s.first[i][0] == "" {
			return false
		}
	}
	return true
}

// get returns the first value of header i ("" if absent) and how many
// values it has.
func (s *shopifyHeaders) get(i int) (string, int) {
	n := s.count[i]
	if n == 0 || len(s.first[i]) == 0 {
		return "", n
	}
	return s.first[i][0], n
}

// headerProblem records the required headers that are missing or
// repeated, for one error message.
type headerProblem struct {
	missing, repeated []string
}

// required returns the one non-empty value of header i, or records why
// there is none.
func (p *headerProblem) required(s *shopifyHeaders, i int) string {
	v, n := s.get(i)
	switch {
	case v == "":
		p.missing = append(p.missing, headerName(s.fam, i))
		return ""
	case n > 1:
		p.repeated = append(p.repeated, headerName(s.fam, i))
		return ""
	}
	return v
}

func (p *headerProblem) String() string {
	var b strings.Builder
	if len(p.missing) > 0 {
		b.WriteString("missing ")
		b.WriteString(strings.Join(p.missing, ", "))
	}
	if len(p.repeated) > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("repeated ")
		b.WriteString(strings.Join(p.repeated, ", "))
	}
	return b.String()
}

// parseTriggeredAt reads an RFC 3339 time ("2026-07-01T12:00:00.123Z"),
// the zero time for anything else: the header is informative, and a
// delivery Shopify signed is not refused over it. The shape Shopify sends
// (UTC or a numeric offset, up to nanoseconds) is read directly, anything
// else by time.Parse, which gives the same result where both apply (a
// fuzz target checks it).
func parseTriggeredAt(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, ok := parseRFC3339(s); ok {
		return t
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseRFC3339 reads "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"
// with in-range fields, and reports false for anything else.
func parseRFC3339(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	c, okc := digits2(s, 0)
	yy, oky := digits2(s, 2)
	month, okM := digits2(s, 5)
	day, okd := digits2(s, 8)
	hour, okh := digits2(s, 11)
	minute, okm := digits2(s, 14)
	sec, oks := digits2(s, 17)
	year := c*100 + yy
	if !(okc && oky && okM && okd && okh && okm && oks) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n]-'0' <= 9 {
			if n > 9 {
				return time.Time{}, false // more than nine digits
			}
			nsec = nsec*10 + int(rest[n]-'0')
			n++
		}
		if n == 1 {
			return time.Time{}, false // no digits
		}
		for range 10 - n {
			nsec *= 10
		}
		rest = rest[n:]
	}
	var offset int
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okH := digits2(rest, 1)
		om, okMin := digits2(rest, 4)
		if !okH || !okMin || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	unix := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// digits2 reads the two decimal digits at s[i:i+2].
func digits2(s string, i int) (int, bool) {
	a, b := s[i]-'0', s[i+1]-'0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

// daysSinceEpoch counts the days from 1970-01-01 to the given proleptic
// Gregorian date (Howard Hinnant's days_from_civil).
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
