package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse"
)

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, dir
}

// files lists the regular files under dir/sub, relative to dir/sub.
func files(t *testing.T, dir, sub string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dir, sub)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	slices.Sort(out)
	return out
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestOpenCreatesDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Open(dir); err != nil {
		t.Fatalf("Open: %v", err)
	}
	for _, d := range []string{"blobs", "tmp"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("Open: got %v for %s, want a directory", err, d)
		}
	}
}

func TestPutOpenRemove(t *testing.T) {
	s, dir := openStore(t)
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"small", []byte("hello, world\n")},
		{"larger than the copy buffer", bytes.Repeat([]byte("0123456789abcdef"), 40000)},
	}
	var keys []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := s.Put(bytes.NewReader(tt.content), 1<<30)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if info.Size != int64(len(tt.content)) {
				t.Errorf("Put size: got %d, want %d", info.Size, len(tt.content))
			}
			if want := sum(tt.content); info.SHA256 != want {
				t.Errorf("Put sha256: got %s, want %s", info.SHA256, want)
			}
			if slices.Contains(keys, info.Key) {
				t.Errorf("Put: key %s was handed out before", info.Key)
			}
			keys = append(keys, info.Key)
			if want := filepath.Join(dir, "blobs", info.Key[:2], info.Key); s.Path(info.Key) != want {
				t.Errorf("Path: got %s, want %s", s.Path(info.Key), want)
			}
			f, err := s.Open(info.Key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			got, err := io.ReadAll(f)
			f.Close()
			if err != nil || !bytes.Equal(got, tt.content) {
				t.Errorf("Open read back %d bytes (err %v), want the %d bytes put", len(got), err, len(tt.content))
			}
			if tmp := files(t, dir, "tmp"); len(tmp) != 0 {
				t.Errorf("after Put, tmp holds %v, want nothing", tmp)
			}
		})
	}

	// Same content twice gets two keys: versions never share a file.
	a, _ := s.Put(strings.NewReader("same"), 100)
	b, _ := s.Put(strings.NewReader("same"), 100)
	if a.Key == b.Key {
		t.Errorf("two Puts of the same content share key %s", a.Key)
	}

	if err := s.Remove(a.Key); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := s.Open(a.Key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Remove: got %v, want fs.ErrNotExist", err)
	}
	if err := s.Remove(a.Key); err != nil {
		t.Errorf("Remove of missing content: got %v, want nil", err)
	}
	if _, err := s.Open(b.Key); err != nil {
		t.Errorf("Open of the other copy after Remove: %v", err)
	}
}

func TestPutLimit(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		max      int64
		wantCode string
	}{
		{"under", 9, 10, ""},
		{"exactly", 10, 10, ""},
		{"one over", 11, 10, gatehouse.ETOOLARGE},
		{"far over", 3 << 20, 1 << 20, gatehouse.ETOOLARGE},
		{"zero allowed, empty", 0, 0, ""},
		{"zero allowed, one byte", 1, 0, gatehouse.ETOOLARGE},
		// A caller with no limit of its own passes the largest int64;
		// the content must still arrive whole.
		{"no limit", 5, math.MaxInt64, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := openStore(t)
			info, err := s.Put(bytes.NewReader(make([]byte, tt.size)), tt.max)
			if got := gatehouse.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Put %d bytes with max %d: got code %q (%v), want %q", tt.size, tt.max, got, err, tt.wantCode)
			}
			wantBlobs := 1
			if tt.wantCode != "" {
				wantBlobs = 0
				if info != (Info{}) {
					t.Errorf("failed Put returned %+v, want zero Info", info)
				}
			}
			if tt.wantCode == "" && info.Size != int64(tt.size) {
				t.Errorf("Put %d bytes with max %d: stored %d bytes", tt.size, tt.max, info.Size)
			}
			if got := files(t, dir, "blobs"); len(got) != wantBlobs {
				t.Errorf("blobs: got %v, want %d file(s)", got, wantBlobs)
			}
			if got := files(t, dir, "tmp"); len(got) != 0 {
				t.Errorf("tmp: got %v, want nothing left behind", got)
			}
		})
	}
}

// TestPutMaxBytesReader covers a request body cut off by
// http.MaxBytesReader below Put's own limit.
func TestPutMaxBytesReader(t *testing.T) {
	s, dir := openStore(t)
	body := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(make([]byte, 100))), 50)
	_, err := s.Put(body, 1000)
	if got := gatehouse.ErrorCode(err); got != gatehouse.ETOOLARGE {
		t.Errorf("Put from MaxBytesReader: got code %q (%v), want %q", got, err, gatehouse.ETOOLARGE)
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp: got %v, want nothing left behind", got)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestPutReadError(t *testing.T) {
	s, dir := openStore(t)
	_, err := s.Put(&failingReader{n: 1000}, 1<<20)
	if err == nil {
		t.Fatal("Put from a failing reader: got nil error")
	}
	// The reader is a request body: its failure is the sender's, a 4xx.
	if got := gatehouse.ErrorCode(err); got != gatehouse.EINVALID {
		t.Errorf("Put from a failing reader: got code %q, want %q", got, gatehouse.EINVALID)
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp: got %v, want nothing left behind", got)
	}
	if got := files(t, dir, "blobs"); len(got) != 0 {
		t.Errorf("blobs: got %v, want nothing", got)
	}
}

func TestSweep(t *testing.T) {
	s, dir := openStore(t)
	put := func(content string) string {
		t.Helper()
		info, err := s.Put(strings.NewReader(content), 1<<20)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		return info.Key
	}
	old := time.Now().Add(-2 * time.Hour)
	age := func(path string) {
		t.Helper()
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	referencedOld := put("referenced, old")
	orphanOld := put("orphan, old")
	orphanNew := put("orphan, recent")
	referencedNew := put("referenced, recent")
	age(s.Path(referencedOld))
	age(s.Path(orphanOld))
	tmpOld := filepath.Join(dir, "tmp", "upload-old")
	tmpNew := filepath.Join(dir, "tmp", "upload-new")
	for _, p := range []string{tmpOld, tmpNew} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	age(tmpOld)

	refs := map[string]bool{referencedOld: true, referencedNew: true}
	var asked []string
	lookup := func(_ context.Context, keys []string) (map[string]bool, error) {
		asked = append(asked, keys...)
		return refs, nil
	}
	removed, err := s.Sweep(context.Background(), time.Now().Add(-time.Hour), lookup)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if removed != 2 {
		t.Errorf("Sweep removed %d, want 2 (the old orphan and the old tmp file)", removed)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	for _, tt := range []struct {
		what string
		path string
		want bool
	}{
		{"referenced old blob", s.Path(referencedOld), true},
		{"unreferenced old blob", s.Path(orphanOld), false},
		{"unreferenced recent blob", s.Path(orphanNew), true},
		{"referenced recent blob", s.Path(referencedNew), true},
		{"old tmp file", tmpOld, false},
		{"recent tmp file", tmpNew, true},
	} {
		if got := exists(tt.path); got != tt.want {
			t.Errorf("after Sweep, %s exists: got %v, want %v", tt.what, got, tt.want)
		}
	}
	// Recent content is kept without asking: another node may be between
	// rename and commit.
	slices.Sort(asked)
	want := []string{orphanOld, referencedOld}
	slices.Sort(want)
	if !slices.Equal(asked, want) {
		t.Errorf("Sweep asked about %v, want only the old blobs %v", asked, want)
	}

	// A failing lookup stops the sweep and removes nothing.
	age(s.Path(orphanNew))
	boom := errors.New("database is down")
	removed, err = s.Sweep(context.Background(), time.Now().Add(-time.Hour), func(context.Context, []string) (map[string]bool, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Errorf("Sweep with a failing lookup: got %v, want %v", err, boom)
	}
	if removed != 0 || !exists(s.Path(orphanNew)) {
		t.Errorf("Sweep with a failing lookup removed %d (orphan exists: %v), want 0 and kept", removed, exists(s.Path(orphanNew)))
	}
}

// Sweep asks about each key once, in batches, and removes exactly the
// unreferenced ones; content written after Clock is never older than it.
func TestSweepBatches(t *testing.T) {
	s, _ := openStore(t)
	old := time.Now().Add(-time.Minute)
	refs := map[string]bool{}
	var orphans []string
	n := 2*SweepBatch + 7
	for i := range n {
		info, err := s.Put(strings.NewReader(fmt.Sprint(i)), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(s.Path(info.Key), old, old); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			orphans = append(orphans, info.Key)
		} else {
			refs[info.Key] = true
		}
	}
	before, err := s.Clock()
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.Put(strings.NewReader("uploaded while the sweep runs"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	asked := map[string]int{}
	calls := 0
	removed, err := s.Sweep(context.Background(), before, func(_ context.Context, keys []string) (map[string]bool, error) {
		calls++
		if len(keys) > SweepBatch {
			t.Errorf("asked about %d keys at once, want at most %d", len(keys), SweepBatch)
		}
		out := map[string]bool{}
		for _, k := range keys {
			asked[k]++
			if refs[k] {
				out[k] = true
			}
		}
		return out, nil
	})
	if err != nil || removed != len(orphans) {
		t.Fatalf("Sweep: removed %d, %v; want %d, nil", removed, err, len(orphans))
	}
	if calls != 3 || len(asked) != n {
		t.Errorf("Sweep made %d lookups about %d keys, want 3 about %d", calls, len(asked), n)
	}
	for k, c := range asked {
		if c != 1 {
			t.Errorf("key %s asked about %d times, want once", k, c)
		}
	}
	for _, k := range orphans {
		if _, err := os.Stat(s.Path(k)); !os.IsNotExist(err) {
			t.Errorf("orphan %s survived (%v)", k, err)
		}
	}
	for k := range refs {
		if _, err := os.Stat(s.Path(k)); err != nil {
			t.Errorf("referenced %s: %v", k, err)
		}
	}
	if _, err := os.Stat(s.Path(fresh.Key)); err != nil {
		t.Errorf("content written after Clock was swept: %v", err)
	}
}
