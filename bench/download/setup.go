package main

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers "sqlite", to count the records
)

// target is one Gatehouse server and what the paths need to reach it.
type target struct {
	name    string // its label: the backend, and "before" or "after" with --before
	backend string // SQLite or PostgreSQL
	bin     string
	data    string
	dsn     string
	args    []string // --data and --database, for the CLI too
	srv     *process
	pprof   string // http://host:port of its pprof listener, or ""
	items   string // /v1.0/drives/{d}/items/
	root    string
	token   string
	probes  map[string]map[string]probe // path → size → probe
	counted atomic.Int64                // content answers received
}

const (
	memberEmail    = "bench@example.com"
	memberPassword = "correct horse battery staple"
	recipientEmail = "recipient@partner.test"
)

// prepare starts Gatehouse on one backend and sets up the member, the
// files, the recipient's session and the member's web session.
func prepare(bin, work, backend, name, dsn string, c config, files map[string][]byte) (*target, error) {
	t := &target{name: name, backend: backend, bin: bin, data: filepath.Join(work, strings.ReplaceAll(strings.ToLower(name), " ", "-")), dsn: dsn}
	t.args = []string{"--data", t.data}
	if dsn != "" {
		t.args = append(t.args, "--database", dsn)
	}
	fmt.Fprintf(os.Stderr, "preparing %s…\n", name)
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", addr, "--org-domains", "example.com",
		// Each passcode request of measureCodes comes from its own
		// address, as from many people behind a proxy.
		"--trusted-proxies", "127.0.0.1/32"}, t.args...)
	if c.profile != "" {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--pprof-addr", pp)
		t.pprof = "http://" + pp
	}
	if t.srv, err = startProcess(exec.Command(bin, args...), addr, "/healthz"); err != nil {
		return nil, err
	}
	if out, err := t.cli(memberPassword+"\n", "user", "add", "--email", memberEmail, "--name", "Bench"); err != nil {
		return t, fmt.Errorf("user add: %v\n%s", err, out)
	}
	out, err := t.cli("", "token", "create", "--email", memberEmail)
	if err != nil {
		return t, fmt.Errorf("token create: %v\n%s", err, out)
	}
	lines := strings.Fields(strings.TrimSpace(out))
	t.token = lines[len(lines)-1]
	bearer := []string{"Authorization", "Bearer " + t.token}

	var me struct {
		ID   string
		Root struct{ ID string }
	}
	if _, err := jsonCall("GET", t.srv.base+"/v1.0/me/drive", nil, &me, bearer...); err != nil {
		return t, err
	}
	t.items, t.root = "/v1.0/drives/"+me.ID+"/items/", me.Root.ID
	t.probes = map[string]map[string]probe{"api": {}, "recipient": {}, "web": {}}
	web, err := t.webSession()
	if err != nil {
		return t, err
	}
	var rcpt http.Header
	for _, sz := range sizes {
		var it struct{ ID string }
		if _, err := jsonCall("PUT", t.srv.base+t.items+t.root+":/"+fileName(sz.name)+":/content", files[sz.name], &it, bearer...); err != nil {
			return t, err
		}
		link, err := t.link(it.ID, []string{recipientEmail})
		if err != nil {
			return t, err
		}
		if rcpt == nil {
			// One verification: the session covers every link the
			// address is on.
			if rcpt, err = t.verify(link, recipientEmail); err != nil {
				return t, err
			}
		}
		t.probes["api"][sz.name] = probe{url: t.srv.base + t.items + it.ID + "/content", header: http.Header{"Authorization": {"Bearer " + t.token}}}
		t.probes["recipient"][sz.name] = probe{url: link + "/content", header: rcpt}
		t.probes["web"][sz.name] = probe{url: t.srv.base + "/items/" + it.ID + "/download", header: web}
	}
	// Check each probe once before timing anything.
	for p, bySize := range t.probes {
		for _, sz := range sizes {
			_, n, err := drive(bySize[sz.name], sz.n, 1, time.Millisecond)
			if err != nil {
				return t, fmt.Errorf("%s path: %w", p, err)
			}
			t.counted.Add(n)
		}
	}
	return t, nil
}

func (t *target) cli(stdin string, args ...string) (string, error) {
	cmd := exec.Command(t.bin, append(args, t.args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// link shares item with the emails on a view link, sending no mail, and
// returns the link's address.
func (t *target) link(item string, emails []string) (string, error) {
	var rs []map[string]string
	for _, e := range emails {
		rs = append(rs, map[string]string{"email": e})
	}
	var perm struct {
		Link struct{ WebURL string }
	}
	_, err := jsonCall("POST", t.srv.base+t.items+item+"/createLink",
		map[string]any{"type": "view", "sendInvitation": false, "recipients": rs}, &perm, "Authorization", "Bearer "+t.token)
	if err == nil && perm.Link.WebURL == "" {
		err = fmt.Errorf("createLink gave no webUrl")
	}
	return perm.Link.WebURL, err
}

// verify asks for a code for email, reads it from the Maildir and returns
// the Cookie header of the recipient's session.
func (t *target) verify(link, email string) (http.Header, error) {
	if _, err := jsonCall("POST", link+"/passcode", map[string]string{"email": email}, nil); err != nil {
		return nil, err
	}
	codes, err := t.waitCodes(map[string]bool{email: true}, 60*time.Second)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("POST", link+"/verify", strings.NewReader(fmt.Sprintf(`{"email":%q,"code":%q}`, email, codes[email])))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := noRedirect.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("verify: %s", resp.Status)
	}
	return cookieHeader(resp.Cookies()), nil
}

func cookieHeader(cs []*http.Cookie) http.Header {
	var parts []string
	for _, c := range cs {
		if c.Value != "" && c.MaxAge >= 0 {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return http.Header{"Cookie": {strings.Join(parts, "; ")}}
}

// webSession signs the member in through the sign-in form.
func (t *target) webSession() (http.Header, error) {
	resp, err := noRedirect.Get(t.srv.base + "/login")
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	v := url.Values{"email": {memberEmail}, "password": {memberPassword}}
	for _, k := range cookies {
		if k.Name == "gh_csrf" || strings.Contains(k.Name, "csrf") {
			v.Set("csrf", k.Value)
		}
	}
	req, _ := http.NewRequest("POST", t.srv.base+"/login", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, k := range cookies {
		req.AddCookie(k)
	}
	resp, err = noRedirect.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in: %s", resp.Status)
	}
	// The answer's cookies replace the page's.
	jar := map[string]*http.Cookie{}
	for _, k := range append(cookies, resp.Cookies()...) {
		jar[k.Name] = k
	}
	var all []*http.Cookie
	for _, k := range jar {
		all = append(all, k)
	}
	return cookieHeader(all), nil
}

var codePattern = regexp.MustCompile(`\b\d{8}\b`)

// waitCodes reads the Maildir until it holds a code for each of emails,
// and returns the newest code for each.
func (t *target) waitCodes(emails map[string]bool, timeout time.Duration) (map[string]string, error) {
	codes := map[string]string{}
	seen := map[string]bool{}
	newest := map[string]time.Time{}
	deadline := time.Now().Add(timeout)
	for {
		for _, sub := range []string{"new", "cur"} {
			dir := filepath.Join(t.data, "maildir", sub)
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if seen[e.Name()] {
					continue
				}
				seen[e.Name()] = true
				raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					continue
				}
				to, text, when, err := mailText(raw)
				if err != nil || !emails[to] {
					continue
				}
				if code := codePattern.FindString(text); code != "" && !when.Before(newest[to]) {
					codes[to], newest[to] = code, when
				}
			}
		}
		if len(codes) == len(emails) {
			return codes, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after %s the Maildir holds codes for %d of %d addresses", timeout, len(codes), len(emails))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mailText returns a message's first recipient, its text parts decoded,
// and its date.
func mailText(raw []byte) (string, string, time.Time, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", "", time.Time{}, err
	}
	to, err := mail.ParseAddress(m.Header.Get("To"))
	if err != nil {
		return "", "", time.Time{}, err
	}
	when, _ := m.Header.Date()
	var b strings.Builder
	err = walkText(&b, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return strings.ToLower(to.Address), b.String(), when, err
}

func walkText(b *strings.Builder, ctype, enc string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkText(b, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	if mt != "text/plain" {
		return nil
	}
	switch strings.ToLower(enc) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	_, err = io.Copy(b, body)
	return err
}

// measureCodes times passcode verifications over HTTP. A code is single
// use and bound to (link, address), and sends are limited per address and
// per client, so the codes are made first, unmeasured: n addresses on one
// link, each requesting a code from its own client address (through the
// trusted-proxy header, as people behind a proxy would), read from the
// Maildir. Then the clients verify all n codes at once; the rate is n over
// the time from the first verification to the last answer. Each
// verification is the whole thing a person's does: the code checked and
// spent, a session created, the SecureLinkUsed record committed.
func measureCodes(t *target, c config) (float64, error) {
	var it struct{ ID string }
	if _, err := jsonCall("PUT", t.srv.base+t.items+t.root+":/codes.txt:/content", []byte("codes\n"), &it, "Authorization", "Bearer "+t.token); err != nil {
		return 0, err
	}
	emails := make([]string, c.codes)
	want := map[string]bool{}
	var link string
	for i := range emails {
		emails[i] = fmt.Sprintf("code-%05d@partner.test", i)
		want[emails[i]] = true
	}
	for i := 0; i < len(emails); i += 500 {
		l, err := t.link(it.ID, emails[i:min(i+500, len(emails))])
		if err != nil {
			return 0, err
		}
		if link != "" && l != link {
			return 0, fmt.Errorf("a second createLink made another link")
		}
		link = l
	}
	fmt.Fprintf(os.Stderr, "%s: requesting %d codes…\n", t.name, len(emails))
	if err := parallel(8, len(emails), func(i int) error {
		_, err := jsonCall("POST", link+"/passcode", map[string]string{"email": emails[i]}, nil, "X-Forwarded-For", clientIP(i))
		return err
	}); err != nil {
		return 0, err
	}
	codes, err := t.waitCodes(want, 5*time.Minute)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "%s: verifying %d codes with %d clients…\n", t.name, len(emails), c.clients)
	var prof func() error
	if c.profile != "" {
		// A guess at the verifications' time; the profile ends by itself.
		prof = t.profile(filepath.Join(c.profile, strings.ReplaceAll(strings.ToLower(t.name), " ", "-")+"-verify.pprof"), 3*time.Second)
	}
	start := time.Now()
	err = parallel(c.clients, len(emails), func(i int) error {
		req, _ := http.NewRequest("POST", link+"/verify", strings.NewReader(fmt.Sprintf(`{"email":%q,"code":%q}`, emails[i], codes[emails[i]])))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Forwarded-For", clientIP(i))
		resp, err := noRedirect.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(resp.Cookies()) == 0 {
			return fmt.Errorf("verify %s: %s", emails[i], resp.Status)
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if prof != nil {
		if err := prof(); err != nil {
			return 0, err
		}
	}
	return float64(len(emails)) / took.Seconds(), nil
}

func clientIP(i int) string { return fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255) }

// parallel runs fn(0…n-1) on workers goroutines and returns the first error.
func parallel(workers, n int, fn func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// profile starts a CPU profile of d on the server's pprof listener and
// returns a function that waits for it and saves it at path.
func (t *target) profile(path string, d time.Duration) func() error {
	secs := max(1, int(d.Seconds())-1)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", t.pprof, secs))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			done <- fmt.Errorf("pprof: %s", resp.Status)
			return
		}
		b, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		done <- err
	}()
	return func() error { return <-done }
}

// checkRecords counts the FileDownloaded records: at least one for every
// content answer the clients received.
func (t *target) checkRecords() error {
	driver, dsn := "sqlite", filepath.Join(t.data, "gatehouse.db")
	if t.dsn != "" {
		driver, dsn = "pgx", t.dsn
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	// A group commit's records share its transaction's time, so the
	// distinct times count the commits.
	var n, commits int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT creation_time) FROM audit_records WHERE operation = 'FileDownloaded'`).Scan(&n, &commits); err != nil {
		return fmt.Errorf("%s: count records: %w", t.name, err)
	}
	if got := t.counted.Load(); n < got {
		return fmt.Errorf("%s: %d FileDownloaded records for %d content answers", t.name, n, got)
	}
	fmt.Fprintf(os.Stderr, "%s: %d FileDownloaded records for %d content answers received, in %d commits (%.1f a commit)\n",
		t.name, n, t.counted.Load(), commits, float64(n)/float64(max(commits, 1)))
	return nil
}
