// Command download measures audited downloads against a plain file server:
// Go's http.ServeContent of the same files, in a process of the same kind
// (this program, started again as a subprocess), side by side in the same
// run. It starts Gatehouse as a subprocess on SQLite and, when --postgres or
// GATEHOUSE_TEST_POSTGRES gives a database, on PostgreSQL too; prepares a
// member with a bearer token and a web session, a 4 KiB and a 1 MiB file,
// and an ad hoc recipient who verifies with the code from the server's
// Maildir, as a person would; then drives the four paths with concurrent
// keep-alive clients for a fixed time, in interleaved rounds, checking
// every answer's status and length:
//
//	baseline    GET /f/{size}                       http.ServeContent of the file
//	api         GET /v1.0/drives/{d}/items/{i}/content   Authorization: Bearer …
//	recipient   GET /s/{token}/content              the recipient's session cookie
//	web         GET /items/{id}/download            a member's web session cookie
//
// It prints one table of ratios to the baseline (median of the rounds, and
// their range), per size and backend, and passcode verifications per second
// over HTTP (see measureCodes for the method).
//
//	go run ./bench/download                                  # 7 rounds × 10 s, 32 clients
//	go run ./bench/download --rounds 3 --duration 3s         # a quick run
//	go run ./bench/download --postgres 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./bench/download --profile /tmp/prof              # CPU profiles of round 1 (pprof on)
//	go run ./bench/download --strace                         # also system calls per answer (strace)
//
// Under the table it prints each server's memory during the rounds: its
// peak RSS (VmHWM) above its idle RSS after the setup.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

func main() {
	// The baseline server is this program started again.
	if len(os.Args) == 4 && os.Args[1] == "serve-baseline" {
		if err := serveBaseline(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "bench/download baseline:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/download:", err)
		os.Exit(1)
	}
}

type config struct {
	postgres  string
	noSQLite  bool
	clients   int
	rounds    int
	duration  time.Duration
	codes     int
	paths     string
	profile   string
	gatehouse string
	before    string
	strace    bool
}

// sizes are the files each path serves.
var sizes = []struct {
	name string
	n    int64
}{{"4 KiB", 4 << 10}, {"1 MiB", 1 << 20}}

// pathNames are the measured paths, in table order.
var pathNames = []string{"api", "recipient", "web"}

var pathTitles = map[string]string{
	"baseline":  "http.ServeContent (baseline)",
	"api":       "API with bearer token",
	"recipient": "recipient `/s/{t}/content`",
	"web":       "web session `/items/{id}/download`",
}

func run() error {
	var c config
	flag.StringVar(&c.postgres, "postgres", os.Getenv("GATEHOUSE_TEST_POSTGRES"), "also run Gatehouse on PostgreSQL at this `url` (a fresh schema, dropped after); default GATEHOUSE_TEST_POSTGRES")
	flag.BoolVar(&c.noSQLite, "no-sqlite", false, "skip the SQLite server")
	flag.IntVar(&c.clients, "clients", 32, "concurrent keep-alive `clients`")
	flag.IntVar(&c.rounds, "rounds", 7, "interleaved `rounds`; medians are over them")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long each path is driven in a round")
	flag.IntVar(&c.codes, "codes", 2000, "passcode verifications to time per backend (0 skips)")
	flag.StringVar(&c.paths, "paths", strings.Join(pathNames, ","), "which Gatehouse `paths` to drive: api,recipient,web; empty times the passcode verifications only")
	flag.StringVar(&c.profile, "profile", "", "serve pprof on loopback and save a CPU profile of each path's first round into `dir`")
	flag.StringVar(&c.gatehouse, "bin", "", "use this gatehouse `binary` instead of building one")
	flag.StringVar(&c.before, "before", "", "also run this gatehouse `binary` (an earlier build) on each backend, side by side in the same rounds, to measure a change")
	flag.BoolVar(&c.strace, "strace", false, "after the rounds, count the servers' I/O system calls per answer with strace -f -c, one run of --duration per size, server and path")
	flag.Parse()
	if c.clients < 1 || c.rounds < 1 || c.duration <= 0 || c.codes < 0 {
		return errors.New("--clients, --rounds and --duration must be positive, --codes not negative")
	}
	var paths []string // none: time the passcode verifications only
	if c.paths != "" {
		paths = strings.Split(c.paths, ",")
	}
	for _, p := range paths {
		if !slices.Contains(pathNames, p) {
			return fmt.Errorf("--paths: %q is not one of %v", p, pathNames)
		}
	}
	if c.profile != "" {
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp("", "gatehouse-bench-download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// The files, the same bytes for the baseline and every backend.
	files := map[string][]byte{}
	plain := filepath.Join(work, "plain")
	os.MkdirAll(plain, 0o700)
	for _, sz := range sizes {
		b := make([]byte, sz.n)
		rand.Read(b)
		files[sz.name] = b
		if err := os.WriteFile(filepath.Join(plain, fileName(sz.name)), b, 0o600); err != nil {
			return err
		}
	}

	bin := c.gatehouse
	if bin == "" {
		bin = filepath.Join(work, "gatehouse")
		fmt.Fprintln(os.Stderr, "building gatehouse…")
		if out, err := exec.Command("go", "build", "-o", bin, "gatehouse/cmd/gatehouse").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	baseline, err := startProcess(exec.Command(self, "serve-baseline", "ADDR", plain), "", "/f/health")
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer baseline.stop()

	// With --before, each backend runs both binaries, side by side.
	type build struct{ bin, suffix string }
	builds := []build{{bin, ""}}
	if c.before != "" {
		builds = []build{{c.before, " before"}, {bin, " after"}}
	}
	var targets []*target
	for _, bd := range builds {
		if c.noSQLite {
			break
		}
		t, err := prepare(bd.bin, work, "SQLite", "SQLite"+bd.suffix, "", c, files)
		if err != nil {
			return err
		}
		defer t.srv.stop()
		targets = append(targets, t)
	}
	for _, bd := range builds {
		if c.postgres == "" {
			break
		}
		dsn, drop, err := freshSchema(c.postgres)
		if err != nil {
			return err
		}
		defer drop()
		t, err := prepare(bd.bin, work, "PostgreSQL", "PostgreSQL"+bd.suffix, dsn, c, files)
		if err != nil {
			return err
		}
		defer t.srv.stop()
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return errors.New("no backend: drop --no-sqlite or give --postgres")
	}

	// Passcode verifications, before the downloads fill the audit log.
	codeRates := map[string]float64{}
	if len(paths) == 0 && c.codes == 0 {
		return errors.New("--paths is empty and --codes is 0: nothing to measure")
	}
	if c.codes > 0 {
		for _, t := range targets {
			rate, err := measureCodes(t, c)
			if err != nil {
				return fmt.Errorf("%s: passcode verifications: %w", t.name, err)
			}
			codeRates[t.name] = rate
		}
	}

	if len(paths) == 0 {
		printCodeRates(c, targets, codeRates)
		return nil
	}

	// Each server's memory during the rounds: its RSS now, idle, and its
	// peak (VmHWM) from here on, so the setup's peak does not count.
	procs := []*process{baseline}
	for _, t := range targets {
		procs = append(procs, t.srv)
	}
	for _, p := range procs {
		p.idleRSS = p.memory()["VmRSS"]
		p.resetPeak()
	}

	// One run is one (size, server, path); each round does every run once,
	// in an order rotated by one each round, so drift in the machine's load
	// spreads over all of them.
	type runSpec struct {
		size   int
		target *target // nil: the baseline
		path   string
	}
	var specs []runSpec
	for si := range sizes {
		specs = append(specs, runSpec{size: si, path: "baseline"})
		for _, t := range targets {
			for _, p := range paths {
				specs = append(specs, runSpec{size: si, target: t, path: p})
			}
		}
	}
	// rps[key][round]; key is size|backend|path, backend "" for the baseline.
	rps := map[string][]float64{}
	cpuPer := map[string][]float64{} // the server's CPU µs per answer
	key := func(s runSpec) string {
		b := ""
		if s.target != nil {
			b = s.target.name
		}
		return sizes[s.size].name + "|" + b + "|" + s.path
	}
	total := time.Duration(c.rounds*len(specs)) * c.duration
	fmt.Fprintf(os.Stderr, "%d rounds × %d runs × %s with %d clients: about %s\n", c.rounds, len(specs), c.duration, c.clients, total.Round(time.Second))
	for r := 0; r < c.rounds; r++ {
		for i := range specs {
			s := specs[(i+r)%len(specs)]
			sz := sizes[s.size]
			var p probe
			if s.target == nil {
				p = probe{url: baseline.base + "/f/" + fileName(sz.name)}
			} else {
				p = s.target.probes[s.path][sz.name]
			}
			var prof func() error
			if r == 0 && c.profile != "" && s.target != nil {
				prof = s.target.profile(filepath.Join(c.profile, profileName(s.target.name, sz.name, s.path)), c.duration)
			}
			proc := baseline
			if s.target != nil {
				proc = s.target.srv
			}
			cpu0, idle0 := proc.cpu(), machineIdle()
			got, answers, err := drive(p, sz.n, c.clients, c.duration)
			cpu1, idle1 := proc.cpu(), machineIdle()
			if s.target != nil {
				s.target.counted.Add(answers)
			}
			if answers > 0 {
				cpuPer[key(s)] = append(cpuPer[key(s)], (cpu1-cpu0).Seconds()*1e6/float64(answers))
			}
			idle := idle1.sub(idle0)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, key(s), err)
			}
			if prof != nil {
				if err := prof(); err != nil {
					return fmt.Errorf("profile %s: %w", key(s), err)
				}
			}
			rps[key(s)] = append(rps[key(s)], got)
			fmt.Fprintf(os.Stderr, "round %d  %-6s %-10s %-9s %9.0f req/s  server CPU %4.0f µs/answer, %3.0f%% of a core; machine idle %2.0f%%\n",
				r+1, sz.name, backendName(s.target), s.path, got, (cpu1-cpu0).Seconds()*1e6/float64(max(answers, 1)),
				100*(cpu1-cpu0).Seconds()/c.duration.Seconds(), idle)
		}
	}

	for _, p := range procs {
		p.peakRSS = p.memory()["VmHWM"]
	}
	var traced []straceResult
	if c.strace {
		if traced, err = traceSyscalls(c, work, baseline, targets, paths); err != nil {
			return err
		}
	}

	// Every download left its record: the audit log must hold as many
	// FileDownloaded records as content answers were counted (and more:
	// answers cut off at the end of a run were recorded but not counted).
	for _, t := range targets {
		if err := t.checkRecords(); err != nil {
			return err
		}
	}

	printTable(c, targets, paths, rps, cpuPer, codeRates)
	printMemory(baseline, targets)
	if c.strace {
		printSyscalls(c, traced)
	}
	return nil
}

func backendName(t *target) string {
	if t == nil {
		return "baseline"
	}
	return t.name
}

func fileName(size string) string { return strings.ReplaceAll(size, " ", "") + ".bin" }

func profileName(backend, size, path string) string {
	return strings.ReplaceAll(strings.ToLower(backend), " ", "-") + "-" + strings.ReplaceAll(size, " ", "") + "-" + path + ".pprof"
}

// ratios returns each round's rate over the baseline's in that round.
func ratios(rps map[string][]float64, size, backend, path string) []float64 {
	base, got := rps[size+"||baseline"], rps[size+"|"+backend+"|"+path]
	out := make([]float64, 0, len(got))
	for i := range got {
		out = append(out, got[i]/base[i])
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// targets the issue asks for, per size and backend.
var goals = map[string]map[string]float64{
	"4 KiB": {"SQLite": 0.6, "PostgreSQL": 0.4},
	"1 MiB": {"SQLite": 0.9, "PostgreSQL": 0.8},
}

func printTable(c config, targets []*target, paths []string, rps, cpuPer map[string][]float64, codeRates map[string]float64) {
	fmt.Printf("Audited downloads vs http.ServeContent of the same file, same run: %d interleaved rounds × %s, %d keep-alive clients.\n",
		c.rounds, c.duration, c.clients)
	fmt.Printf("Each cell: median ratio of the rounds (range min–max); the baseline row is its median req/s.\n\n")
	var cols []string
	backendOf := map[string]string{}
	for _, t := range targets {
		backendOf[t.name] = t.backend
	}
	head := "| path |"
	sep := "|---|"
	for _, sz := range sizes {
		for _, t := range targets {
			cols = append(cols, sz.name+"|"+t.name)
			head += " " + sz.name + " " + t.name + " |"
			sep += "---|"
		}
	}
	fmt.Println(head)
	fmt.Println(sep)
	line := "| " + pathTitles["baseline"] + " |"
	for _, col := range cols {
		size := strings.Split(col, "|")[0]
		line += fmt.Sprintf(" %.0f req/s |", median(rps[size+"||baseline"]))
	}
	fmt.Println(line)
	met := true
	for _, p := range paths {
		line := "| " + pathTitles[p] + " |"
		for _, col := range cols {
			size, backend, _ := strings.Cut(col, "|")
			r := ratios(rps, size, backend, p)
			m := median(r)
			mark := ""
			if m < goals[size][backendOf[backend]] {
				mark, met = " ✗", false
			}
			line += fmt.Sprintf(" %.2f× (%.2f–%.2f)%s |", m, slices.Min(r), slices.Max(r), mark)
		}
		fmt.Println(line)
	}
	line = "| Gatehouse req/s (median) |"
	for _, col := range cols {
		size, backend, _ := strings.Cut(col, "|")
		var best []string
		for _, p := range paths {
			best = append(best, fmt.Sprintf("%s %.0f", p, median(rps[size+"|"+backend+"|"+p])))
		}
		line += " " + strings.Join(best, ", ") + " |"
	}
	fmt.Println(line)
	line = "| server CPU per answer, µs (median) |"
	for _, col := range cols {
		size, backend, _ := strings.Cut(col, "|")
		parts := []string{fmt.Sprintf("baseline %.0f", median(cpuPer[size+"||baseline"]))}
		for _, p := range paths {
			parts = append(parts, fmt.Sprintf("%s %.0f", p, median(cpuPer[size+"|"+backend+"|"+p])))
		}
		line += " " + strings.Join(parts, ", ") + " |"
	}
	fmt.Println(line)
	fmt.Printf("\nGoals (issue 11): 1 MiB ≥ 0.9× SQLite, ≥ 0.8× PostgreSQL; 4 KiB ≥ 0.6× SQLite, ≥ 0.4× PostgreSQL; ✗ marks a miss. All met: %v\n", met)
	if len(codeRates) > 0 {
		fmt.Println()
		printCodeRates(c, targets, codeRates)
	}
}

func printCodeRates(c config, targets []*target, codeRates map[string]float64) {
	for _, t := range targets {
		goal := map[string]float64{"SQLite": 2000, "PostgreSQL": 1000}[t.backend]
		fmt.Printf("Passcode verifications over HTTP, %s: %.0f/s (%d codes, %d clients; goal ≥ %.0f/s: %v)\n",
			t.name, codeRates[t.name], c.codes, c.clients, goal, codeRates[t.name] >= goal)
	}
}

// probe is one request to repeat: a URL and its credentials.
type probe struct {
	url    string
	header http.Header
}

// drive repeats p from clients keep-alive connections for d and returns the
// answers per second within d, and every content answer received. Every
// answer must be 200 with exactly size bytes.
func drive(p probe, size int64, clients int, d time.Duration) (float64, int64, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var done, all atomic.Int64
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			// At least one request each, so a short run checks the path.
			for first := true; first || time.Now().Before(deadline); first = false {
				req, _ := http.NewRequest("GET", p.url, nil)
				for k, v := range p.header {
					req.Header[k] = v
				}
				resp, err := client.Do(req)
				if err != nil {
					fail(err)
					return
				}
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
				resp.Body.Close()
				if err != nil {
					fail(err)
					return
				}
				if resp.StatusCode != 200 || n != size {
					fail(fmt.Errorf("GET %s: status %d with %d bytes, want 200 with %d", p.url, resp.StatusCode, n, size))
					return
				}
				all.Add(1)
				if time.Now().Before(deadline) {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, all.Load(), firstErr
	}
	return float64(done.Load()) / d.Seconds(), all.Load(), nil
}

// serveBaseline serves the files of dir at /f/{name} with http.ServeContent,
// with the server settings Gatehouse uses, on addr ("ADDR": a free port,
// printed on the first line).
func serveBaseline(addr, dir string) error {
	if addr == "ADDR" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /f/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /f/{name}", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(filepath.Join(dir, filepath.Base(r.PathValue("name"))))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "", time.Time{}, f)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	return srv.Serve(ln)
}

// process is a server run as a subprocess.
type process struct {
	cmd  *exec.Cmd
	base string
	log  *syncBuffer
	// idleRSS and peakRSS are the RSS before the rounds and the peak
	// during them, in bytes; 0 where /proc does not tell.
	idleRSS, peakRSS int64
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep the start, where failures to start show
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startProcess starts cmd. If addr is "", the process prints its address
// on its first line; health is the path that answers 200 once it serves.
func startProcess(cmd *exec.Cmd, addr, health string) (*process, error) {
	p := &process{cmd: cmd, log: &syncBuffer{}}
	cmd.Stderr = p.log
	var stdout io.ReadCloser
	if addr == "" {
		var err error
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	} else {
		cmd.Stdout = p.log
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if addr == "" {
		line := make([]byte, 0, 64)
		b := make([]byte, 1)
		for {
			if _, err := stdout.Read(b); err != nil || b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		addr = strings.TrimSpace(string(line))
		go io.Copy(p.log, stdout)
	}
	p.base = "http://" + addr
	for i := 0; i < 300; i++ {
		if resp, err := http.Get(p.base + health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("the server did not start:\n%s", p.log)
}

func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
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
	schema := fmt.Sprintf("bench_download_%d", time.Now().UnixNano())
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

// jsonCall sends in as JSON (when not nil) with the headers and decodes
// a 2xx answer into out.
func jsonCall(method, u string, in, out any, hdr ...string) (http.Header, error) {
	var body io.Reader
	if in != nil {
		switch b := in.(type) {
		case []byte:
			body = bytes.NewReader(b)
		default:
			j, _ := json.Marshal(in)
			body = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if _, ok := in.([]byte); !ok && in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, b)
	}
	if out != nil {
		return resp.Header, json.Unmarshal(b, out)
	}
	return resp.Header, nil
}

var noRedirect = &http.Client{
	Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// cpu is the process's user and system CPU time so far, from
// /proc/<pid>/stat (Linux; zero elsewhere). For Gatehouse on PostgreSQL it
// leaves out the database's own processes.
func (p *process) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, 100 on Linux everywhere that matters.
const clockTicks = 100

// cpuTimes are the machine's idle and total jiffies from /proc/stat.
type cpuTimes struct{ idle, total int64 }

func machineIdle() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var t cpuTimes
	for i, f := range strings.Fields(line)[1:] {
		var v int64
		fmt.Sscan(f, &v)
		t.total += v
		if i == 3 || i == 4 { // idle, iowait
			t.idle += v
		}
	}
	return t
}

// sub is the idle share in percent between u and t.
func (t cpuTimes) sub(u cpuTimes) float64 {
	if t.total == u.total {
		return 0
	}
	return 100 * float64(t.idle-u.idle) / float64(t.total-u.total)
}
