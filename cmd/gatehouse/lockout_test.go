package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// loClient is a browser at its own loopback address: the server takes the
// client address from the TCP peer, and all of 127.0.0.0/8 is loopback.
type loClient struct {
	http *http.Client
	ip   string
}

func newLoClient(ip string, jar http.CookieJar) *loClient {
	if jar == nil {
		jar, _ = cookiejar.New(nil)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	return &loClient{ip: ip, http: &http.Client{Jar: jar, Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// json sends body as JSON (nil: no body) asking for JSON, and returns the
// status, or 0 when the request failed; safe in any goroutine.
func (c *loClient) json(method, url string, body any) (int, http.Header, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req)
}

// form posts a form with a double-submit CSRF token of its own.
func (c *loClient) form(url string, v url.Values) (int, http.Header, []byte) {
	tok := gatehouse.NewSecret("")
	v.Set("csrf", tok)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "gh_csrf", Value: tok})
	return c.send(req)
}

func (c *loClient) send(req *http.Request) (int, http.Header, []byte) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// loParallel runs fn(0…n-1) at once and returns their statuses.
func loParallel(n int, fn func(i int) int) []int {
	out := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// loCount runs a COUNT-like query with ? placeholders on the server's
// database.
func loCount(t *testing.T, s *server, q string, args ...any) int {
	t.Helper()
	if strings.HasPrefix(s.Config.Database, "postgres") {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	var n int
	if err := rawDB(t, s).QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// loLink starts a server with an SMTP relay and shares a file with
// recipients; it returns the server, the relay, an admin's API client and
// the link's URL and sharing id.
func loLink(t *testing.T, b testenv.Backend, recipients ...string) (*server, *mailtest.Server, *apiClient, string, string) {
	smtp := mailtest.Start(t)
	s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
	o := &apiClient{t: t, base: s.URL, token: s.token(s.addUser("olivia@example.com", "Olivia", "correct horse battery", false))}
	a := &apiClient{t: t, base: s.URL, token: s.token(s.addUser("ada@example.com", "Ada", "correct horse battery", true))}
	drive := o.json("GET", "/v1.0/me/drive", nil, 200)
	d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
	f := o.json("PUT", "/v1.0/drives/"+d+"/items/"+root+":/plan.txt:/content", "the plan", 201)
	var rcps []any
	for _, r := range recipients {
		rcps = append(rcps, map[string]any{"email": r})
	}
	resp := o.json("POST", "/v1.0/drives/"+d+"/items/"+f["id"].(string)+"/createLink",
		map[string]any{"type": "view", "scope": "users", "recipients": rcps}, 201)
	return s, smtp, a, resp["link"].(map[string]any)["webUrl"].(string), resp["shareId"].(string)
}

func loN(statuses []int, want int) int {
	n := 0
	for _, s := range statuses {
		if s == want {
			n++
		}
	}
	return n
}

// TestRecipientLockout: with the link URL and the address, parallel clients
// at other addresses cannot stop the recipient opening the link with a code
// that reached the mailbox, even one they asked for themselves.
func TestRecipientLockout(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			const ext = "ext@partner.test"
			s, smtp, _, webURL, _ := loLink(t, b, ext)
			verify := func(c *loClient, code string) int {
				st, _, _ := c.json("POST", webURL+"/verify", map[string]any{"email": ext, "code": code})
				return st
			}
			wrong := func(code string) string { return fmt.Sprintf("%08d", (atoiCode(code)+1)%100_000_000) }

			// Someone else asks for the code; it reaches the mailbox.
			attacker := newLoClient("127.0.0.11", nil)
			st, _, sent := attacker.json("POST", webURL+"/passcode", map[string]string{"email": ext})
			if st != 200 {
				t.Fatalf("passcode: %d %s", st, sent)
			}
			code := mailtest.Code(t, smtp.WaitFor(t, ext, 10*time.Second))
			// The recipient asking within 30 s is refused, answered alike.
			recipient := newLoClient("127.0.0.2", nil)
			if _, _, again := recipient.json("POST", webURL+"/passcode", map[string]string{"email": ext}); !bytes.Equal(again, sent) {
				t.Errorf("a refused send answers differently: %s, want %s", again, sent)
			}

			// 40 parallel wrong tries from one address all count: the right
			// code from there fails afterwards, and the throttle saw 40.
			sts := loParallel(40, func(int) int { return verify(attacker, wrong(code)) })
			if n := loN(sts, 400); n != 40 {
				t.Errorf("parallel wrong tries: %v, want 40 × 400", sts)
			}
			if n := loCount(t, s, `SELECT failures FROM login_attempts WHERE key = ?`, "verify-ip:127.0.0.11"); n != 40 {
				t.Errorf("verify throttle count after 40 parallel failures: got %d, want 40", n)
			}
			if st := verify(attacker, code); st != 400 {
				t.Fatalf("the right code from an address that made 40 wrong tries: %d, want 400", st)
			}

			// After 5 wrong tries from another address, none of 16 parallel
			// tries of the right code from there is compared.
			second := newLoClient("127.0.0.12", nil)
			for range gatehouse.PasscodeMaxFailures {
				verify(second, wrong(code))
			}
			if sts := loParallel(16, func(int) int { return verify(second, code) }); loN(sts, 400) != 16 {
				t.Fatalf("right code, 16 times at once, after 5 wrong tries: %v, want 16 × 400", sts)
			}

			// 30 parallel wrong guesses from 30 addresses, with the
			// recipient's right code among them: the recipient gets in.
			sts = loParallel(31, func(i int) int {
				if i == 30 {
					return verify(recipient, code)
				}
				return verify(newLoClient(fmt.Sprintf("127.0.0.%d", 100+i), nil), wrong(code))
			})
			if sts[30] != 200 {
				t.Fatalf("the recipient's right code among 30 parallel guesses: %d, want 200 (all: %v)", sts[30], sts)
			}
			if n := loN(sts[:30], 400); n != 30 {
				t.Errorf("the 30 guesses: %v, want 30 × 400", sts[:30])
			}
			if st, _, body := recipient.json("GET", webURL, nil); st != 200 || !bytes.Contains(body, []byte(`"verified":true`)) {
				t.Errorf("the recipient's landing after verifying: %d %s", st, body)
			}
			if n := loCount(t, s, `SELECT COUNT(*) FROM verification_pauses`); n != 0 {
				t.Errorf("%d pauses, want none", n)
			}
		})
	}
}

func atoiCode(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestMemberDeviceCookie: 60 wrong passwords from 10 addresses block an
// unknown client's right password, but not the one from a browser that has
// signed in to the account before, wherever it is now.
func TestMemberDeviceCookie(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b)
			const pw = "correct horse battery"
			s.addUser("ann@example.com", "Ann", pw, false)
			login := func(c *loClient, password string) (int, http.Header) {
				st, hdr, _ := c.form(s.URL+"/login", url.Values{"email": {"ann@example.com"}, "password": {password}})
				return st, hdr
			}

			home := newLoClient("127.0.0.2", nil)
			st, hdr := login(home, pw)
			if st != http.StatusSeeOther {
				t.Fatalf("first sign-in: %d", st)
			}
			var device string
			for _, c := range hdr.Values("Set-Cookie") {
				if strings.HasPrefix(c, "gh_dev=") {
					device = c
				}
			}
			if !strings.Contains(device, "HttpOnly") || !strings.Contains(device, "Max-Age=") || strings.Contains(device, "Max-Age=0") {
				t.Errorf("device cookie: %q, want a long-lived HttpOnly cookie", device)
			}
			if st, _, _ := home.form(s.URL+"/logout", url.Values{}); st != http.StatusSeeOther {
				t.Fatalf("sign out: %d", st)
			}

			// 60 wrong passwords from 10 addresses, 20 at once (each
			// check holds 19 MiB of argon2 memory).
			for range 3 {
				sts := loParallel(20, func(i int) int {
					st, _ := login(newLoClient(fmt.Sprintf("127.0.0.%d", 20+i%10), nil), "wrong password!")
					return st
				})
				if n := loN(sts, http.StatusUnauthorized) + loN(sts, http.StatusTooManyRequests); n != 20 {
					t.Errorf("wrong passwords: %v, want 401 or 429 each", sts)
				}
			}
			// An unknown client is still throttled, even with the password.
			if st, _ := login(newLoClient("127.0.0.40", nil), pw); st != http.StatusTooManyRequests {
				t.Errorf("unknown client with the right password: %d, want 429", st)
			}
			// The browser that signed in before gets in, here and from a new
			// address, and from one of the attackers' addresses too.
			for _, ip := range []string{"127.0.0.2", "127.0.0.41", "127.0.0.20"} {
				c := newLoClient(ip, home.http.Jar)
				if st, hdr := login(c, pw); st != http.StatusSeeOther || hdr.Get("Location") != "/files" {
					t.Errorf("known browser from %s: %d %q, want 303 to /files", ip, st, hdr.Get("Location"))
				}
			}
		})
	}
}

// TestSecureLinkUsedOncePerSession: a recipient session's views of the
// link, however many and however parallel, make one SecureLinkUsed; HEAD
// makes none.
func TestSecureLinkUsedOncePerSession(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			_, smtp, admin, webURL, shareID := loLink(t, b, "one@partner.test", "two@partner.test")
			used := func() (n int) {
				for _, r := range auditOf(admin, shareID) {
					if r["Operation"] == gatehouse.OpSecureLinkUsed {
						n++
					}
				}
				return n
			}
			for i, email := range []string{"one@partner.test", "two@partner.test"} {
				c := newLoClient(fmt.Sprintf("127.0.0.%d", 50+i), nil)
				c.json("POST", webURL+"/passcode", map[string]string{"email": email})
				code := mailtest.Code(t, smtp.WaitFor(t, email, 10*time.Second))
				if st, _, body := c.json("POST", webURL+"/verify", map[string]any{"email": email, "code": code}); st != 200 {
					t.Fatalf("verify %s: %d %s", email, st, body)
				}
				for range 3 {
					req, _ := http.NewRequest(http.MethodHead, webURL, nil)
					if st, _, _ := c.send(req); st != 200 {
						t.Errorf("HEAD: %d", st)
					}
				}
				if n := used(); n != i {
					t.Errorf("SecureLinkUsed after HEAD requests of session %d: got %d, want %d", i+1, n, i)
				}
				sts := loParallel(16, func(j int) int {
					if j%2 == 0 {
						st, _, _ := c.json("GET", webURL, nil)
						return st
					}
					st, _, _ := c.send(mustGet(webURL))
					return st
				})
				if loN(sts, 200) != 16 {
					t.Errorf("parallel views: %v", sts)
				}
				if n := used(); n != i+1 {
					t.Errorf("SecureLinkUsed after 16 parallel views by session %d: got %d, want %d", i+1, n, i+1)
				}
			}
		})
	}
}

func mustGet(u string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return req
}
