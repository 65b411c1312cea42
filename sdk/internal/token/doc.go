// Package token takes Shopify session tokens apart, for package sdk: the
// three segments of a compact JWS, their base64url, the JOSE header, the
// claims JSON and the HS256 signature. It holds no policy: which claims
// are required, what a shop domain is, how long a token lives, and what
// errors say are the sdk's. Everything here is a parser or a MAC, and each
// has a fuzz target that holds it to a reference implementation from the
// standard library:
//
//   - Parse (FuzzParse): the segments, the header (alg HS256, no crit)
//     and the encodings, in one pass over the token, against a reference
//     built from strings.Split, encoding/base64 and encoding/json.
//   - decodeSegment (FuzzSegmentDecoder): base64url, against
//     encoding/base64's strict RawURLEncoding; in Go, and 32 characters
//     at a time with AVX2 (base64_amd64.s) where the CPU has it, both
//     held to it.
//   - plainRun (FuzzPlainRun): the scan for the end of a string's plain
//     characters, eight bytes at a time in Go and 32 with AVX2
//     (claims_amd64.s), both against a byte loop.
//   - ParseClaims and parseHeader (FuzzClaimsDecoder): the JSON objects,
//     against encoding/json, with each deliberate strictness (duplicate
//     registered claims, exact types, bounded nesting) an explicit,
//     tested predicate.
//   - HMAC (FuzzHMAC): signature checks, against crypto/hmac, including
//     checks that start from a remembered state (tables of one and two
//     slots make every prefix collide).
//
// The build tag purego leaves the assembly out: everything runs in Go, as
// on other architectures.
//
// All of it works in place, in buffers the caller owns: a verification
// allocates nothing here, except when a shop's prefix is remembered (the
// second verified token with it, once).
package token
