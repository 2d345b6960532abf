// Command zip measures Download all: a folder of 1,000 files totalling
// 1 GiB streamed as a zip by a gatehouse server, against the baseline of
// downloading the same bytes as one file (/content, which the server sends
// with sendfile) from the same server in the same run, and the server's
// peak RSS while it zips. The server runs as a subprocess, so its RSS is
// its own: VmHWM of /proc/<pid>/status, reset before each measured download.
//
//	go run ./bench/zip                         # SQLite
//	go run ./bench/zip --postgres postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	go run ./bench/zip --files 100 --mib 128   # a quick run
//
// The target: the zip at 0.8× the baseline's throughput or more, with the
// server under 100 MiB RSS.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/zip:", err)
		os.Exit(1)
	}
}

type config struct {
	postgres string
	files    int
	mib      int
	rounds   int
	text     bool
}

func run() error {
	var c config
	flag.StringVar(&c.postgres, "postgres", "", "run the server on PostgreSQL at this `url` (a fresh schema, dropped after); default SQLite")
	flag.IntVar(&c.files, "files", 1000, "files in the zipped `folder`")
	flag.IntVar(&c.mib, "mib", 1024, "total `MiB` of the files, and the size of the baseline file")
	flag.IntVar(&c.rounds, "rounds", 5, "measured downloads of each kind; the medians are compared")
	flag.BoolVar(&c.text, "text", false, "files of text (deflated in the zip) instead of random bytes (stored)")
	flag.Parse()
	if c.files < 1 || c.mib < 1 || c.rounds < 1 {
		return errors.New("--files, --mib and --rounds must be at least 1")
	}
	work, err := os.MkdirTemp("", "gatehouse-bench-zip-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	bin := filepath.Join(work, "gatehouse")
	fmt.Fprintln(os.Stderr, "building gatehouse…")
	if out, err := exec.Command("go", "build", "-o", bin, "gatehouse/cmd/gatehouse").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(work, "data")
	backend, args := "SQLite", []string{"--data", data}
	if c.postgres != "" {
		dsn, drop, err := freshSchema(c.postgres)
		if err != nil {
			return err
		}
		defer drop()
		backend, args = "PostgreSQL", append(args, "--database", dsn)
	}
	srv, err := startServer(bin, args)
	if err != nil {
		return err
	}
	defer srv.stop()

	if out, err := cli(bin, "correct horse battery staple\n", append([]string{"user", "add", "--email", "bench@example.com", "--name", "Bench"}, args...)...); err != nil {
		return fmt.Errorf("user add: %v\n%s", err, out)
	}
	out, err := cli(bin, "", append([]string{"token", "create", "--email", "bench@example.com"}, args...)...)
	if err != nil {
		return fmt.Errorf("token create: %v\n%s", err, out)
	}
	lines := strings.Fields(strings.TrimSpace(out))
	api := &client{base: srv.base, token: lines[len(lines)-1]}

	var drive struct {
		ID   string
		Root struct{ ID string }
	}
	if err := api.getJSON("/v1.0/me/drive", &drive); err != nil {
		return err
	}
	items := "/v1.0/drives/" + drive.ID + "/items/"
	var folder struct{ ID string }
	if err := api.sendJSON("POST", items+drive.Root.ID+"/children", map[string]any{"name": "Bench", "folder": map[string]any{}}, &folder); err != nil {
		return err
	}
	total := int64(c.mib) << 20
	fmt.Fprintf(os.Stderr, "uploading %d files and one file of %d MiB on %s…\n", c.files, c.mib, backend)
	per := total / int64(c.files)
	for i := 0; i < c.files; i++ {
		n := per
		if i == c.files-1 {
			n = total - per*int64(c.files-1)
		}
		name := fmt.Sprintf("file-%04d.bin", i)
		if c.text {
			name = fmt.Sprintf("file-%04d.txt", i)
		}
		if err := api.put(items+folder.ID+":/"+name+":/content", source(c.text, uint64(i), n)); err != nil {
			return err
		}
	}
	var big struct{ ID string }
	if err := api.putJSON(items+drive.Root.ID+":/big.bin:/content", source(c.text, 1<<32, total), &big); err != nil {
		return err
	}

	baseURL, zipURL := items+big.ID+"/content", items+folder.ID+"/archive"
	// One unmeasured pass of each, so both read from the page cache.
	if _, err := api.download(baseURL, nil); err != nil {
		return err
	}
	if _, err := api.download(zipURL, nil); err != nil {
		return err
	}
	idle, _ := srv.status("VmRSS")
	sinceStart := srv.peak() // the uploads included
	var baseTimes, zipTimes []time.Duration
	var basePeak, zipPeak int64
	var zipBytes int64
	var entries int
	for r := 0; r < c.rounds; r++ {
		srv.resetPeak()
		d, err := api.download(baseURL, nil)
		if err != nil {
			return err
		}
		baseTimes = append(baseTimes, d.took)
		basePeak = max(basePeak, srv.peak())

		srv.resetPeak()
		tail := &tailBuffer{max: 1 << 20}
		d, err = api.download(zipURL, tail)
		if err != nil {
			return err
		}
		zipTimes = append(zipTimes, d.took)
		zipPeak = max(zipPeak, srv.peak())
		zipBytes = d.bytes
		if entries, err = zipEntries(tail.b); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "round %d: baseline %.0f MiB/s, zip %.0f MiB/s\n", r+1, mibps(total, baseTimes[r]), mibps(total, zipTimes[r]))
	}
	if entries != c.files {
		return fmt.Errorf("the zip holds %d entries, want %d", entries, c.files)
	}
	base, zipped := median(baseTimes), median(zipTimes)
	kind := "random bytes, stored"
	if c.text {
		kind = "text, deflated"
	}
	fmt.Printf("Download all on %s: %d files (%s), %d MiB in all; median of %d rounds each, same server, same run\n",
		backend, c.files, kind, c.mib, c.rounds)
	fmt.Printf("  baseline, GET /content of one %d MiB file:   %7.0f MiB/s  (%.2f s)\n", c.mib, mibps(total, base), base.Seconds())
	fmt.Printf("  Download all, GET /archive of the folder:  %7.0f MiB/s  (%.2f s; %d zip bytes, %d entries)\n",
		mibps(total, zipped), zipped.Seconds(), zipBytes, entries)
	ratio := base.Seconds() / zipped.Seconds()
	fmt.Printf("  ratio zip/baseline: %.2f  (target ≥ 0.80: %s)\n", ratio, verdict(ratio >= 0.8))
	fmt.Printf("  server peak RSS while zipping: %d MiB (target < 100 MiB: %s); during the baseline %d MiB; idle before %d MiB; peak since start, uploads included, %d MiB\n",
		zipPeak>>10, verdict(zipPeak>>10 < 100), basePeak>>10, idle>>10, sinceStart>>10)
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func mibps(n int64, d time.Duration) float64 { return float64(n) / (1 << 20) / d.Seconds() }

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// source is n bytes of a file: random, so storing is the honest case, or
// text of words, which deflates.
func source(text bool, seed uint64, n int64) io.Reader {
	rng := rand.New(rand.NewPCG(seed, 42))
	if !text {
		return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 32)}), n)
	}
	words := strings.Fields("the quick brown fox jumps over lazy dog gatehouse shares files with people outside organization audit record link")
	return io.LimitReader(readerFunc(func(p []byte) (int, error) {
		i := 0
		for i < len(p) {
			w := words[rng.IntN(len(words))]
			i += copy(p[i:], w+" ")
		}
		return len(p), nil
	}), n)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// server is gatehouse serve, run as a subprocess.
type server struct {
	cmd  *exec.Cmd
	base string
	log  *bytes.Buffer
}

func startServer(bin string, args []string) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{base: "http://" + addr, log: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, append([]string{"serve", "--listen", addr}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("the server did not start:\n%s", s.log)
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// status reads a field of /proc/<pid>/status in KiB.
func (s *server) status(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, s.cmd.Process.Pid)
}

// resetPeak starts VmHWM again from the current RSS (clear_refs 5).
func (s *server) resetPeak() {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
}

func (s *server) peak() int64 {
	n, _ := s.status("VmHWM")
	return n
}

func cli(bin, stdin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// freshSchema makes a schema of its own in the database at dsn and returns
// the address that uses it, and how to drop it.
func freshSchema(dsn string) (string, func(), error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := fmt.Sprintf("bench_zip_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("--postgres: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() }, nil
}

// client calls the API with a bearer token.
type client struct{ base, token string }

func (c *client) req(method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	return http.DefaultClient.Do(req)
}

func (c *client) sendJSON(method, path string, in, out any) error {
	b, _ := json.Marshal(in)
	resp, err := c.req(method, path, bytes.NewReader(b))
	return decode(resp, err, method+" "+path, out)
}

func (c *client) getJSON(path string, out any) error {
	resp, err := c.req("GET", path, nil)
	return decode(resp, err, "GET "+path, out)
}

func (c *client) put(path string, body io.Reader) error { return c.putJSON(path, body, nil) }

func (c *client) putJSON(path string, body io.Reader, out any) error {
	resp, err := c.req("PUT", path, body)
	return decode(resp, err, "PUT "+path, out)
}

func decode(resp *http.Response, err error, what string, out any) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", what, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

type downloaded struct {
	bytes int64
	took  time.Duration
}

// download reads a whole answer, keeping it nowhere but in tail, if given.
func (c *client) download(path string, tail io.Writer) (downloaded, error) {
	start := time.Now()
	resp, err := c.req("GET", path, nil)
	if err != nil {
		return downloaded{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return downloaded{}, fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	w := io.Discard
	if tail != nil {
		w = tail
	}
	n, err := io.CopyBuffer(w, resp.Body, make([]byte, 1<<20))
	return downloaded{bytes: n, took: time.Since(start)}, err
}

// tailBuffer keeps the last max bytes written to it: the zip's central
// directory, to count its entries.
type tailBuffer struct {
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.b = append(t.b[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.b) + len(p) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	t.b = append(t.b, p...)
	return n, nil
}

// zipEntries reads the entry count of the zip's end of central directory.
func zipEntries(tail []byte) (int, error) {
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail) < i+22 {
		return 0, errors.New("the answer is not a zip: no end of central directory")
	}
	return int(binary.LittleEndian.Uint16(tail[i+10:])), nil
}
