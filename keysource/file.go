package keysource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settleDelay is how long File waits after a change notification before
// reading, so that a writer's burst of events (truncate, write, chmod) ends
// in one read of the finished file.
const settleDelay = 20 * time.Millisecond

// FileSource serves secrets from a file and reloads it when it changes.
// Create it with File and Close it when done.
type FileSource struct {
	path string
	cfg  config

	ring    atomic.Pointer[Keyring]
	lastErr atomic.Pointer[error]

	reloadMu    sync.Mutex // one reload at a time
	lastUnknown time.Time  // guarded by reloadMu
	reads       atomic.Int64

	watcher   *fsnotify.Watcher
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// File reads secrets from path and reloads them when the file changes.
//
// # Format
//
// One secret per line, the current one first, then previous ones in order
// of preference. Surrounding white space (the trailing newline editors and
// `kubectl create secret` leave, CRLF line ends) is trimmed, and a UTF-8
// byte order mark at the start of the file is dropped. Blank lines and
// comment lines, whose first non-blank character is '#', are skipped (no
// Shopify secret starts with '#'); a comment cannot share a secret's line.
// Each secret must be a possible Shopify client secret: at least
// MinSecretLen printable ASCII characters, none of them white space
// (ErrInvalidSecret, with the line number and never the line). The file
// may be at most MaxFileSize bytes (ErrFileTooLarge) and hold at most
// MaxKeys secrets (ErrTooManyKeys). Key IDs are "file:current",
// "file:previous", "file:previous-2", ... by position among the secrets
// (see the package doc).
//
//	# rotated 2026-05-01: new secret first
//	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
//	# the old one, until its tokens have expired
//	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
//
// # Reloads and revocation
//
// File watches the file's directory and reloads on change, which covers
// in-place writes, editors' write-to-temp-and-rename, and Kubernetes'
// atomic swap of the ..data symlink behind a mounted Secret. A periodic
// re-read (WithPollInterval) backs up file systems that drop
// notifications.
//
// A reload that finds the file missing, unreadable, empty or invalid
// keeps the last good keys and reports the error to WithErrorHandler and
// Err: a file caught in the middle of a rewrite must not take every
// request down. So emptying the file revokes nothing. To revoke a key,
// write the file without it: the next reload drops it, and the
// verifier's cached sessions from the old keys are no longer served. To
// revoke every key (a leaked secret, no new one yet), replace the
// contents with the single line
//
//	revoked
//
// (in any case; comments may surround it, no secret may): the source
// then holds no keys, so verification fails with sdk.ErrNoKeys (the
// middleware answers 503) until a file with secrets is written. A file
// that says revoked when File opens it gives a source without keys.
//
// The first read must succeed. Close stops watching.
func File(path string, opts ...Option) (*FileSource, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &FileSource{path: path, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	ring, err := s.read()
	if err != nil {
		return nil, err
	}
	s.ring.Store(ring)

	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("keysource: file %s: watch: %w", path, err)
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("keysource: file %s: watch: %w", path, err)
	}
	s.watcher = w
	go s.watch()
	return s, nil
}

// Keyring returns the last good keyring: nil once the file revokes every
// key.
func (s *FileSource) Keyring() *Keyring { return s.ring.Load() }

// Err returns the error of the most recent reload, or nil if it succeeded.
func (s *FileSource) Err() error {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Reload reads the file now. On error the previous keys stay in force.
func (s *FileSource) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	return s.reloadLocked()
}

// RefreshUnknownSigner re-reads the file when a token's signer is unknown,
// at most once per WithUnknownSignerInterval. While another reload runs it
// returns the keys in force at once: tokens with an unknown signer are
// mostly forged, and must not queue behind a slow file system.
func (s *FileSource) RefreshUnknownSigner(context.Context) *Keyring {
	if !s.reloadMu.TryLock() {
		return s.ring.Load()
	}
	defer s.reloadMu.Unlock()
	now := s.cfg.now()
	if s.cfg.unknownInterval > 0 && (s.lastUnknown.IsZero() || now.Sub(s.lastUnknown) >= s.cfg.unknownInterval) {
		s.lastUnknown = now
		_ = s.reloadLocked()
	}
	return s.ring.Load()
}

// Close stops watching the file. The last keys stay readable.
func (s *FileSource) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		err = s.watcher.Close()
		<-s.done
	})
	return err
}

func (s *FileSource) reloadLocked() error {
	ring, err := s.read()
	if err != nil {
		s.lastErr.Store(&err)
		s.cfg.onError(err)
		return err
	}
	s.lastErr.Store(nil)
	if !ring.SameKeys(s.ring.Load()) {
		s.ring.Store(ring)
	}
	return nil
}

// MaxFileSize bounds a key file. A few secrets and comments take a few
// hundred bytes; anything near the bound is not a key file.
const MaxFileSize = 64 << 10

// revokedMarker is the line that revokes every key.
const revokedMarker = "revoked"

// read reads the file into a keyring: nil, with no error, for a file that
// revokes every key.
func (s *FileSource) read() (*Keyring, error) {
	s.reads.Add(1)
	data, err := readLimited(s.path)
	if err != nil {
		return nil, err
	}
	keys, revoked, err := parseKeyFile(data, s.cfg.clientID)
	if err != nil {
		return nil, fmt.Errorf("keysource: file %s: %w", s.path, err)
	}
	if revoked {
		return nil, nil
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keysource: file %s: %w", s.path, ErrEmptySecret)
	}
	ring, err := NewKeyring(s.cfg.now(), keys...)
	if err != nil {
		return nil, fmt.Errorf("keysource: file %s: %w", s.path, err)
	}
	return ring, nil
}

// readLimited reads at most MaxFileSize bytes of path.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		// The *PathError names the path and the cause, never the contents.
		return nil, fmt.Errorf("keysource: file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("keysource: file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("keysource: file %s: %w: more than %d bytes", path, ErrFileTooLarge, MaxFileSize)
	}
	return data, nil
}

// parseKeyFile reads the keys of a key file (see File for the format).
// revoked reports a file that revokes every key.
func parseKeyFile(data []byte, clientID string) (keys []Key, revoked bool, err error) {
	n := 0
	for line := range strings.Lines(strings.TrimPrefix(string(data), utf8BOM)) {
		n++
		secret := strings.TrimSpace(line)
		switch {
		case secret == "" || secret[0] == '#':
			continue
		case strings.EqualFold(secret, revokedMarker):
			revoked = true
			continue
		}
		if err := checkSecret(secret); err != nil {
			return nil, false, fmt.Errorf("line %d: %w", n, err)
		}
		if len(keys) == MaxKeys {
			return nil, false, fmt.Errorf("line %d: %w: at most %d", n, ErrTooManyKeys, MaxKeys)
		}
		keys = append(keys, Key{ID: keyID("file", len(keys)), ClientID: clientID, Secret: NewSecret(secret)})
	}
	if revoked && len(keys) > 0 {
		return nil, false, fmt.Errorf("%w: the file says %q and holds secrets too: %q revokes every key and must be the only line besides comments", ErrInvalidSecret, revokedMarker, revokedMarker)
	}
	return keys, revoked, nil
}

func (s *FileSource) watch() {
	defer close(s.done)
	var poll <-chan time.Time
	if s.cfg.pollInterval > 0 {
		t := time.NewTicker(s.cfg.pollInterval)
		defer t.Stop()
		poll = t.C
	}
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	for {
		select {
		case <-s.stop:
			return
		case _, ok := <-s.watcher.Events:
			if !ok {
				return
			}
			settle.Reset(settleDelay)
		case err, ok := <-s.watcher.Errors:
			if !ok {
				return
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				s.cfg.onError(fmt.Errorf("keysource: file %s: watch: %w", s.path, err))
			}
			settle.Reset(settleDelay)
		case <-settle.C:
			_ = s.Reload()
		case <-poll:
			_ = s.Reload()
		}
	}
}
