// Package keysource supplies the secrets that sign Shopify session tokens:
// your app's client secret, and during a rotation the previous one.
//
// # Sources
//
// A Source hands the verifier an immutable Keyring: keys in preference
// order (current first), each with an ID that is safe to log (it appears as
// sdk.Session.KeyID) and optionally the client ID it belongs to. Reading
// the keyring never does I/O; sources that watch something outside the
// process refresh in the background and publish a new keyring with a new
// generation, which tells the verifier's cache to forget sessions verified
// under the old one.
//
//   - Static: secrets given in code (secrets your program already loaded;
//     MustStatic in tests and examples).
//   - Env: NAME, and NAME_PREVIOUS during a rotation.
//   - File: one secret per line ('#' comment lines and blank lines
//     skipped), reloaded on change; survives Kubernetes' ..data symlink
//     swaps and editors' rename-writes, keeps the last good keys while a
//     file is being rewritten, and drops every key when the file says
//     "revoked" (see File).
//   - keysource/awssm: AWS Secrets Manager, AWSCURRENT then AWSPREVIOUS.
//
// Sources whose keys change outside the process may also implement
// UnknownSignerRefresher, so that a token signed with a just-rotated secret
// triggers one rate-limited refresh instead of failing until the next
// scheduled one.
//
// # Key IDs
//
// A key's ID names it in sdk.Session.KeyID and in telemetry (the
// possession.key.id attribute), never its secret. Static, Env and File
// spell it "<source>:<position>", the position in the rotation:
// "static:current", "env:previous", "file:previous-2" (the third line of
// the file). So a dashboard reads the same whichever source is in use, and
// a rotation is finished once no session reports a ":previous" key.
// keysource/awssm names keys by the Secrets Manager version ID instead
// (with "/client-<n>" for a client-map secret), which identifies the exact
// version in AWS's own console and audit logs.
//
// # Secrets
//
// A Secret never prints itself: fmt verbs, JSON, text marshalling and slog
// all show [REDACTED], and its bytes sit behind an unsafe.Pointer, which
// fmt and reflection-based printers never follow, so that printing an
// enclosing struct (where fmt cannot call Secret's methods) shows an
// address, not the secret.
// Surrounding whitespace (the trailing newline of a file or variable) and
// a UTF-8 byte order mark are trimmed by every source, and an empty secret
// is an error.
//
// Static, Env, File and keysource/awssm accept only what can be a Shopify
// client secret: at least MinSecretLen (32) printable ASCII characters,
// none of them white space (32 hex characters for secrets generated before
// 28 January 2020, "shpss_" and 32 since). Anything else is
// ErrInvalidSecret, whose message names the variable, the file's line or
// the secret's version, never the value. A keyring holds at most MaxKeys
// keys (ErrTooManyKeys): a token signed with none of them costs one HMAC
// per key. NewKeyring itself checks only that keys are not empty, for
// sources of your own.
package keysource
