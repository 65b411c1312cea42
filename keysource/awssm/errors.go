package awssm

import (
	"errors"

	"github.com/possession-dev/possession/keysource"
)

// Sentinel errors. Every error New, Refresh and Err return wraps one of
// them (and, for AWS failures, the SDK's error too, so errors.As finds
// smithy.APIError). Messages name the secret ID and version IDs, never
// the secret value.
var (
	// ErrNotFound: the secret does not exist, is scheduled for deletion,
	// or has no AWSCURRENT version.
	ErrNotFound = errors.New("awssm: secret not found")
	// ErrAccessDenied: the caller's IAM identity may not read the secret
	// (secretsmanager:GetSecretValue, secretsmanager:DescribeSecret) or
	// decrypt it (kms:Decrypt for a customer-managed key), or its
	// credentials were rejected.
	ErrAccessDenied = errors.New("awssm: access denied")
	// ErrUnavailable: Secrets Manager could not be reached or kept failing
	// (network errors, 5xx, throttling after the SDK's retries, timeouts).
	// Transient: the source retries with backoff.
	ErrUnavailable = errors.New("awssm: secrets manager unavailable")
	// ErrNotJSON: a JSON option is set but the value is not a JSON object
	// of the expected shape (for WithJSONClientMap: a key that cannot be a
	// client ID, such as a secret in a map whose keys and values are
	// swapped).
	ErrNotJSON = errors.New("awssm: secret value is not the expected JSON")
	// ErrFieldMissing: the JSON object has no string field of the name
	// given to WithJSONField.
	ErrFieldMissing = errors.New("awssm: JSON field missing")
	// ErrEmptyValue: the value (or the JSON field, or a client's secret in
	// the JSON map) is empty after trimming whitespace.
	ErrEmptyValue = errors.New("awssm: empty secret value")
	// ErrInvalidSecret: the value (or the JSON field, or a client's secret
	// in the JSON map) cannot be a Shopify client secret: shorter than
	// keysource.MinSecretLen (32), or with white space or a character
	// that is not printable ASCII inside. It is keysource.ErrInvalidSecret,
	// the same value.
	ErrInvalidSecret = keysource.ErrInvalidSecret
	// ErrInvalidOption: an option or argument of New is invalid.
	ErrInvalidOption = errors.New("awssm: invalid option")
	// ErrClosed: Refresh was called after Close.
	ErrClosed = errors.New("awssm: source closed")
)
