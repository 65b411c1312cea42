// Package awssm serves the Shopify app secret from AWS Secrets Manager, so
// that a backend verifies session tokens with the secret its team rotates
// there.
//
// # Setup
//
// Build a Secrets Manager client from the default AWS configuration (the
// package never loads configuration itself), hand it to New with the
// secret's name or ARN, and give the source to the verifier:
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	...
//	src, err := awssm.New(ctx, secretsmanager.NewFromConfig(cfg), "prod/shopify/pos-app",
//		awssm.WithJSONField("SHOPIFY_API_SECRET"))
//	...
//	defer src.Close()
//	verifier, err := sdk.New(src, sdk.WithClientID(clientID))
//
// New fetches the secret before it returns, and fails with a clear error
// when it cannot: ErrNotFound, ErrAccessDenied, ErrUnavailable, or
// ErrNotJSON, ErrFieldMissing, ErrEmptyValue and ErrInvalidSecret for a
// value of the wrong shape. WithStartEmpty lets a service start anyway;
// verification then fails with sdk.ErrNoKeys until the secret can be
// read.
//
// # Secret formats
//
//   - A plain string (the default): the whole value, whitespace trimmed.
//   - SecretBinary: the bytes, whitespace trimmed.
//   - A JSON object with the secret in one field: WithJSONField, for
//     values such as {"SHOPIFY_API_SECRET": "shpss_..."}.
//   - A JSON object mapping client IDs to secrets: WithJSONClientMap, for
//     one backend serving several apps. Each key then belongs to its
//     client ID, and a token verifies with it only if its aud is that
//     client ID. Pass every client ID to sdk.WithClientID. A map's keys
//     must look like client IDs: one shaped like a Shopify secret
//     ("shpss_...") means keys and values are swapped (ErrNotJSON).
//
// Each secret must be a possible Shopify client secret, at least
// keysource.MinSecretLen (32) printable ASCII characters without white
// space (ErrInvalidSecret); surrounding white space and a UTF-8 byte
// order mark are trimmed. Errors name the secret, the version and, in a
// client map, a client's position, never a value or a map key.
//
// # Rotation
//
// The keyring holds the AWSCURRENT version first, then AWSPREVIOUS when
// there is one, so tokens signed before and after a rotation both verify
// while the previous version lives. Key IDs are the version IDs (with
// "/client-<n>" appended for a client map, n counting its clients in
// client ID order: never the map's key, which a swapped map would make a
// secret; the client ID is sdk.Session.ClientID); they appear in
// sdk.Session.KeyID and in telemetry, never the secret.
//
// # Refresh
//
// A background goroutine checks the secret every 5 minutes
// (WithRefreshInterval) spread by ±10% jitter (WithJitter). Each check is
// one DescribeSecret call; the values are read again (GetSecretValue, one
// call per version) only when the version IDs changed. At most one fetch
// is in flight at a time; Refresh forces one. A refresh that finds the same
// keys keeps the keyring, and with it the verifier's cached sessions.
//
// Verification never waits on the network, with one bounded exception:
// when a token's signature matches no key, the verifier calls
// RefreshUnknownSigner, which refreshes at most once per 30 s
// (WithUnknownSignerInterval) however many such tokens arrive, waits no
// longer than the request's context, and lets the verifier retry with the
// new keys. Only the verification that starts a refresh and at most 16
// that arrive while it runs wait for it: the others (mostly forged
// tokens) get the keys in force at once, so a flood of them cannot pile
// up behind a slow Secrets Manager. A rotation done in AWS is thus picked up by the first token
// signed with the new secret, not at the next interval.
//
// # Failures
//
// Throttling, 5xx responses and network errors are retried by the AWS
// SDK's retryer. A refresh that still fails keeps the last good keys in
// force, reports the error to WithErrorHandler and Err, and is retried
// with exponential backoff from 1 s up to WithBackoffCap (1 min). Each
// refresh, retries included, is bounded by WithFetchTimeout (30 s).
// WithMaxStaleness drops the keys when no refresh has succeeded for that
// long (default: never), after which verification fails with
// sdk.ErrNoKeys. Close stops the goroutine.
//
// # Permissions
//
// The IAM identity needs secretsmanager:GetSecretValue and
// secretsmanager:DescribeSecret on the secret's ARN, and kms:Decrypt on its
// KMS key when that is a customer-managed key (see README.md in this
// directory).
//
// # Telemetry
//
// Each fetch records a span named SpanName with the trigger (initial,
// interval, manual, unknown_signer), the outcome (updated, unchanged,
// error), error.type on failure, and the number of keys; an unknown-signer
// refresh links to the verification that caused it. The metrics are
// possession.keysource.refreshes (a counter by outcome) and
// possession.keysource.key_age (a gauge of the seconds since the keys in
// force were loaded). Providers default to the OpenTelemetry globals
// (WithTracerProvider, WithMeterProvider). No secret value ever appears in
// an error, a span or a metric.
package awssm
