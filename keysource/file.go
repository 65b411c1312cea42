package keysource

import (
	"context"
	"errors"
	"fmt"
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

// File reads secrets from path, one per line, current first then previous
// ones; blank lines are skipped and surrounding whitespace (the trailing
// newline editors and `kubectl create secret` leave) is trimmed. Key IDs are
// "file:current", "file:previous", "file:previous-2", ... (see the package
// doc).
//
// File watches the file's directory and reloads on change, which covers
// in-place writes, editors' write-to-temp-and-rename, and Kubernetes'
// atomic swap of the ..data symlink behind a mounted Secret. A reload that
// finds the file missing, unreadable or empty keeps the last good keys and
// reports the error to WithErrorHandler and Err; the verifier never sees an
// empty keyring. A periodic re-read (WithPollInterval) backs up file
// systems that drop notifications.
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

// Keyring returns the last good keyring.
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
// at most once per WithUnknownSignerInterval.
func (s *FileSource) RefreshUnknownSigner(context.Context) *Keyring {
	s.reloadMu.Lock()
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

func (s *FileSource) read() (*Keyring, error) {
	s.reads.Add(1)
	data, err := os.ReadFile(s.path)
	if err != nil {
		// The *PathError names the path and the cause, never the contents.
		return nil, fmt.Errorf("keysource: file: %w", err)
	}
	var keys []Key
	for line := range strings.Lines(string(data)) {
		secret := strings.TrimSpace(line)
		if secret == "" {
			continue
		}
		keys = append(keys, Key{ID: keyID("file", len(keys)), ClientID: s.cfg.clientID, Secret: NewSecret(secret)})
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
