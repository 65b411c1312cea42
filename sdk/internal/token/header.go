package token

// The header every Shopify token carries, {"alg":"HS256","typ":"JWT"}, and
// its reordered twin: recognised without decoding.
const (
	headerHS256JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
	headerJWTHS256 = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"
)

// header is what the verifier reads of a JOSE header: alg, and whether it
// has a crit parameter.
type header struct {
	alg  Span // Start < 0 when absent
	crit bool
}

// parseHeader reads the header JSON in buf. alg must be a string; crit
// may be anything (any crit is rejected later); other parameters are
// skipped.
func parseHeader(buf []byte) (h header, err error) {
	d := decoder{buf: buf}
	h.alg = Span{-1, -1}
	for i := 0; ; i++ {
		key, ok, err := d.member(i)
		if err != nil || !ok {
			return h, err
		}
		switch string(key) {
		case "alg":
			if h.alg.Start >= 0 {
				return h, errDuplicateA
			}
			if h.alg, err = d.stringClaim(headerAlg); err != nil {
				return h, err
			}
			continue
		case "crit":
			h.crit = true
		}
		if err := d.skip(1); err != nil {
			return h, err
		}
	}
}
