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
//   - File: one secret per line, reloaded on change; survives Kubernetes'
//     ..data symlink swaps and editors' rename-writes, and keeps the last
//     good keys while a file is being rewritten.
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
// (with "/<client ID>" for a client-map secret), which identifies the exact
// version in AWS's own console and audit logs.
//
// # Secrets
//
// A Secret never prints itself: fmt verbs, JSON, text marshalling and slog
// all show [REDACTED], and its bytes sit behind a pointer so that even
// reflection-based printing of an enclosing struct shows no secret.
// Surrounding whitespace (the trailing newline of a file or variable) is
// trimmed by every source, and an empty secret is an error.
package keysource
