// Package blob keeps file content in a local directory, one file per
// version, under random keys. Metadata lives in the store.
package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"gatehouse"
)

// Store is a content directory.
type Store struct {
	dir string
}

// Info describes stored content.
type Info struct {
	Key    string
	Size   int64
	SHA256 string // hex
}

// Open prepares dir/blobs and dir/tmp.
func Open(dir string) (*Store, error) {
	for _, d := range []string{"blobs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	return &Store{dir: dir}, nil
}

func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Path returns where the content of key lives.
func (s *Store) Path(key string) string {
	return filepath.Join(s.dir, "blobs", key[:2], key)
}

// Put streams r to a temporary file, syncs it and renames it into place, so
// that content is durable before any metadata points at it. More than max
// bytes fails with ETOOLARGE and leaves nothing behind.
func (s *Store) Put(r io.Reader, max int64) (Info, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "upload-*")
	if err != nil {
		return Info{}, err
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	buf := make([]byte, 256<<10)
	limit := max
	if limit < math.MaxInt64 {
		limit++ // one byte more tells "exactly max" from "too large"
	}
	src := &sourceReader{r: r}
	n, err := io.CopyBuffer(io.MultiWriter(tmp, h), io.LimitReader(src, limit), buf)
	var mbe *http.MaxBytesError
	if err != nil {
		if errors.As(err, &mbe) {
			return Info{}, tooLarge(max)
		}
		if src.err != nil && gatehouse.ErrorCode(src.err) == gatehouse.EINTERNAL {
			// A stream that breaks off is the sender's doing, not ours.
			return Info{}, gatehouse.Errorf(gatehouse.EINVALID, "The upload was cut off before it was complete. Please try again.")
		}
		return Info{}, fmt.Errorf("receive content: %w", err)
	}
	if n > max {
		return Info{}, tooLarge(max)
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, err
	}
	if err := tmp.Close(); err != nil {
		return Info{}, err
	}
	info := Info{Key: newKey(), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	final := s.Path(info.Key)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return Info{}, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Info{}, err
	}
	tmp = nil
	syncDir(filepath.Dir(final))
	return info, nil
}

// sourceReader keeps the error of the stream it reads, so that Put can tell
// a broken upload from a failing disk.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

func tooLarge(max int64) error {
	if max < 1<<20 {
		return gatehouse.Errorf(gatehouse.ETOOLARGE, "The file is larger than the limit of %d KiB.", max>>10)
	}
	return gatehouse.Errorf(gatehouse.ETOOLARGE, "The file is larger than the limit of %d MiB.", max>>20)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Open opens the content of key for reading.
func (s *Store) Open(key string) (*os.File, error) {
	return openFile(s.Path(key))
}

// Remove deletes the content of key; missing content is not an error.
func (s *Store) Remove(key string) error {
	err := os.Remove(s.Path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Clock returns the file system's current time, read from the modification
// time of a file made for the purpose. Content written after the call is
// never older than this, which time.Now cannot promise: file times come from
// a coarser clock.
func (s *Store) Clock() (time.Time, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "clock-*")
	if err != nil {
		return time.Time{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	return info.ModTime(), nil
}

// SweepBatch is how many keys Sweep asks about at once.
const SweepBatch = 500

// Sweep removes temporary files and content that no metadata refers to, when
// last modified before the cutoff: anything newer may belong to an upload
// between rename and commit, on this node or another. referenced answers for
// a batch of keys which of them metadata uses. Sweep stops at the first
// error, or when ctx ends, and reports how many files it removed.
func (s *Store) Sweep(ctx context.Context, before time.Time, referenced func(ctx context.Context, keys []string) (map[string]bool, error)) (int, error) {
	removed := 0
	tmps, _ := os.ReadDir(filepath.Join(s.dir, "tmp"))
	for _, e := range tmps {
		if info, err := e.Info(); err == nil && info.ModTime().Before(before) {
			if os.Remove(filepath.Join(s.dir, "tmp", e.Name())) == nil {
				removed++
			}
		}
	}
	var keys, paths []string
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		refs, err := referenced(ctx, keys)
		if err != nil {
			return err
		}
		for i, k := range keys {
			if !refs[k] && os.Remove(paths[i]) == nil {
				removed++
			}
		}
		keys, paths = keys[:0], paths[:0]
		return ctx.Err()
	}
	err := filepath.WalkDir(filepath.Join(s.dir, "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil || !info.ModTime().Before(before) {
			return err
		}
		keys, paths = append(keys, d.Name()), append(paths, path)
		if len(keys) == SweepBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return removed, err
}
