package main

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/httpx"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// form posts a form with the client's CSRF token, as the page does, and
// returns the status, the Location and the body.
func (c *recipientClient) form(base, path string, v url.Values) (int, string, string) {
	c.t.Helper()
	u, _ := url.Parse(base)
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == httpx.CSRFCookie {
			v.Set("csrf", k.Value)
		}
	}
	resp, err := c.http.PostForm(base+path, v)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), buf.String()
}

// page GETs a page as a browser does.
func (c *recipientClient) page(base, path string) (int, http.Header, string) {
	c.t.Helper()
	resp, err := c.http.Get(base + path)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, buf.String()
}

// TestCodePages: on both backends, every form of the code flow is sent on
// (303) to a GET page that shows its result, the same for a recipient and
// a stranger; JSON says when a new code may be asked for, and tells a
// wrong code (invalidCode) from a dead one (codeNoLongerValid); unknown
// paths and wrong methods get styled 404 and 405 pages.
func TestCodePages(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			file := o.json("PUT", items+root+":/plan.txt:/content", []byte("the plan\n"), 201)
			const ext, stranger = "ext@partner.test", "nobody@partner.test"
			resp := o.json("POST", items+file["id"].(string)+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": ext}}, "roles": []string{"read"},
				"requireSignIn": true, "sendInvitation": false,
			}, 200)
			webURL := resp["value"].([]any)[0].(map[string]any)["link"].(map[string]any)["webUrl"].(string)
			link := strings.TrimPrefix(webURL, s.URL)
			codePage := link + "/passcode"

			// The same steps for a recipient and a stranger, each in a
			// browser of its own; what they see differs only in the address
			// they typed and their own CSRF token.
			csrfRe := regexp.MustCompile(`name="csrf" value="[^"]*"`)
			waitRe := regexp.MustCompile(`\d+ seconds|data-resend-after="\d+"`) // a second may pass between the two
			norm := func(body, email string) string {
				return waitRe.ReplaceAllString(csrfRe.ReplaceAllString(strings.ReplaceAll(body, email, "EMAIL"), "CSRF"), "N")
			}
			steps := map[string][]string{}
			for _, who := range []string{ext, stranger} {
				c := newRecipient(t)
				c.page(s.URL, link)
				var seen []string
				st, loc, _ := c.form(s.URL, link+"/passcode", url.Values{"email": {who}})
				seen = append(seen, http.StatusText(st)+" "+loc)
				st, _, body := c.page(s.URL, loc)
				if !strings.Contains(body, "may open the link, a code is on its way") || !strings.Contains(body, "You can ask for a new code in") {
					t.Errorf("%s: code page lacks the honest wording:\n%s", who, body)
				}
				seen = append(seen, http.StatusText(st)+" "+norm(body, who))
				st, loc, _ = c.form(s.URL, link+"/verify", url.Values{"email": {who}, "code": {"00000000"}})
				seen = append(seen, http.StatusText(st)+" "+loc)
				st, _, body = c.page(s.URL, loc)
				if !strings.Contains(body, "That code didn&#39;t work") {
					t.Errorf("%s: code page after a wrong code lacks the message:\n%s", who, body)
				}
				seen = append(seen, http.StatusText(st)+" "+norm(body, who))
				// A reload, or the verify address reopened, shows the code page again.
				st, _, body = c.page(s.URL, codePage)
				seen = append(seen, http.StatusText(st)+" "+norm(body, who))
				st, h, _ := c.page(s.URL, link+"/verify")
				seen = append(seen, http.StatusText(st)+" "+h.Get("Location"))
				steps[who] = seen
			}
			want := []string{"See Other " + codePage, "OK", "See Other " + codePage, "OK", "OK", "See Other " + codePage}
			for i, w := range want {
				if got := steps[ext][i]; !strings.HasPrefix(got, w) {
					t.Errorf("step %d: got %.200q, want %q…", i+1, got, w)
				}
				if steps[ext][i] != steps[stranger][i] {
					t.Errorf("step %d differs:\nrecipient: %s\nstranger:  %s", i+1, steps[ext][i], steps[stranger][i])
				}
			}

			// The recipient's code, by the form, opens the link.
			code := mailtest.Code(t, smtp.WaitFor(t, ext, 10*time.Second))
			c := newRecipient(t)
			c.page(s.URL, link)
			if st, loc, _ := c.form(s.URL, link+"/verify", url.Values{"email": {ext}, "code": {code}}); st != http.StatusSeeOther || loc != link {
				t.Errorf("right code by the form: %d to %q, want 303 to the link", st, loc)
			}
			if st, _, body := c.page(s.URL, link); st != 200 || !strings.Contains(body, "plan.txt") {
				t.Errorf("the link after verifying: %d", st)
			}

			// JSON: the wait, then wrong tries, alike for both addresses.
			for _, who := range []string{ext, stranger} {
				j := newRecipient(t)
				_, _, out := j.call("POST", webURL+"/passcode", map[string]string{"email": who})
				if !bytes.Contains(out, []byte(`"resendAfterSeconds":`)) {
					t.Errorf("%s: passcode JSON %s lacks resendAfterSeconds", who, out)
				}
			}
			if st, _, out := newRecipient(t).call("POST", webURL+"/verify", map[string]any{"email": "unasked@partner.test", "code": "00000000"}); st != 400 ||
				!bytes.Contains(out, []byte(`"code":"codeNoLongerValid"`)) {
				t.Errorf("a try for an address nobody asked a code for: %d %s, want codeNoLongerValid", st, out)
			}

			// Styled 404 and 405 pages; the API keeps its JSON.
			if st, h, body := c.page(s.URL, "/no/such/page"); st != 404 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
				!strings.Contains(body, "<h1>Page not found</h1>") {
				t.Errorf("unknown path: %d %s\n%s", st, h.Get("Content-Type"), body)
			}
			req, _ := http.NewRequest("DELETE", s.URL+codePage, nil)
			if r, err := c.http.Do(req); err != nil || r.StatusCode != 405 || r.Header.Get("Allow") != "GET, HEAD, POST" ||
				!strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Errorf("wrong method on the code page: %v %+v", err, r)
			} else {
				r.Body.Close()
			}
			if st, h, _ := c.page(s.URL, "/v1.0/no/such/route"); !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("/v1.0/ unknown path: %d %s, want the API's JSON", st, h.Get("Content-Type"))
			}
		})
	}
}
