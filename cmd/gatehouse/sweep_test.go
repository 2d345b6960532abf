package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// Content left behind by a crash between writing and committing is removed
// by the sweep at start, which runs behind serving: the server answers, and
// takes uploads, while the sweep has not even begun, and content uploaded
// then survives it.
func TestOrphansSweptAtStart(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			orphan := filepath.Join(dir, "blobs", "ab", "ab0123456789abcdef0123456789abcd")
			partial := filepath.Join(dir, "tmp", "upload-123")
			// Older than PostgreSQL's hour of grace for other nodes.
			crash := time.Now().Add(-2 * time.Hour)
			for _, p := range []string{orphan, partial} {
				os.MkdirAll(filepath.Dir(p), 0o700)
				if err := os.WriteFile(p, []byte("left over"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, crash, crash); err != nil {
					t.Fatal(err)
				}
			}
			release := make(chan struct{})
			m := &Main{Config: Config{Listen: "127.0.0.1:0", Data: dir, Database: b.DSN(t, dir)},
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), beforeSweep: func() { <-release }}
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer m.Close()

			// The sweep is held; Run has returned and the server works.
			s := &server{Main: m, t: t}
			a := &apiClient{t: t, base: m.URL, token: s.token(s.addUser("ada@example.com", "Ada", "correct horse battery", false))}
			if got, _, _ := a.do("GET", "/healthz", nil); got != 200 {
				t.Fatalf("healthz during the sweep: got %d, want 200", got)
			}
			root := a.json("GET", "/v1.0/me/drive/root", nil, 200)
			drive := a.json("GET", "/v1.0/me/drive", nil, 200)
			items := "/v1.0/drives/" + drive["id"].(string) + "/items/"
			up := a.json("PUT", items+root["id"].(string)+":/during.txt:/content", "uploaded while the sweep waits", 201)
			// And one caught between writing its content and committing it.
			inFlight, err := m.Blobs.Put(strings.NewReader("not committed yet"), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-m.sweepDone:
				t.Fatal("the sweep finished while held")
			default:
			}

			close(release)
			<-m.sweepDone
			if m.sweepResult != nil {
				t.Fatalf("sweep: %v", m.sweepResult)
			}
			for _, p := range []string{orphan, partial} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s survived the sweep (%v)", p, err)
				}
			}
			if _, err := os.Stat(m.Blobs.Path(inFlight.Key)); err != nil {
				t.Errorf("content written after the start but not yet committed was swept: %v", err)
			}
			if got, _, body := a.do("GET", items+up["id"].(string)+"/content", nil); got != 200 || string(body) != "uploaded while the sweep waits" {
				t.Errorf("content uploaded during the sweep: got %d %q", got, body)
			}
		})
	}
}
