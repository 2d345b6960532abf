package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir, and
// returns the two files and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gatehouse test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// clientFrom returns an HTTP client whose connections leave from the
// loopback address from, so one machine can play several clients, and which
// does not follow redirects or keep cookies: tests read Set-Cookie.
func clientFrom(from string, pool *x509.CertPool) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	tr := &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: pool}}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

const testCSRF = "0123456789abcdef0123456789abcdef0123"

// signIn posts the sign-in form to base and returns the answer, whose body
// is closed. hdr adds header pairs.
func signIn(t *testing.T, c *http.Client, base, email, password string, hdr ...string) *http.Response {
	t.Helper()
	form := url.Values{"email": {email}, "password": {password}, "csrf": {testCSRF}}
	req, err := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "gh_csrf", Value: testCSRF})
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s/login: %v", base, err)
	}
	resp.Body.Close()
	return resp
}

// sessionCookie returns the session cookie an answer sets, or fails.
func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "gh_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in answered %d without a session cookie", resp.StatusCode)
	return nil
}

// checkSecure checks that a sign-in answer has HSTS and a Secure session
// cookie, or neither.
func checkSecure(t *testing.T, what string, resp *http.Response, want bool) {
	t.Helper()
	c := sessionCookie(t, resp)
	hsts := resp.Header.Get("Strict-Transport-Security")
	if c.Secure != want || (hsts != "") != want {
		t.Errorf("%s: session cookie Secure = %v, HSTS %q; want Secure and HSTS = %v", what, c.Secure, hsts, want)
	}
}

// lastLoginIP returns the ClientIP of email's latest audit record of op.
func lastLoginIP(t *testing.T, s *server, email, op string) string {
	t.Helper()
	recs, _, err := s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{UserID: email, Operation: op}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("no %s record for %s", op, email)
	}
	return recs[0].ClientIP
}

// Gatehouse serves HTTPS itself with HTTP/2, and its cookies are Secure.
func TestTLSListener(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			certFile, keyFile, pool := selfSigned(t, t.TempDir())
			s := startServer(t, b, func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
			if !strings.HasPrefix(s.URL, "https://") || !strings.HasPrefix(s.Config.BaseURL, "https://") {
				t.Fatalf("URL %s, base URL %s; want https://", s.URL, s.Config.BaseURL)
			}
			s.addUser("ada@example.com", "Ada", "correct horse battery", false)
			c := clientFrom("127.0.0.1", pool)
			resp := signIn(t, c, s.URL, "ada@example.com", "correct horse battery")
			if resp.ProtoMajor != 2 {
				t.Errorf("protocol %s, want HTTP/2", resp.Proto)
			}
			if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
				t.Errorf("sign-in: status %d, want a redirect", resp.StatusCode)
			}
			checkSecure(t, "direct TLS", resp, true)
			// Plain HTTP to a TLS port is refused, not served.
			if resp, err := http.Get("http://" + strings.TrimPrefix(s.URL, "https://") + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					t.Errorf("plain HTTP on the TLS listener: got 200")
				}
			}
		})
	}
}

// proxy starts a reverse proxy that speaks HTTPS to clients and HTTP to
// target, and sets X-Forwarded-For (appending to what the client sent),
// X-Forwarded-Proto and X-Forwarded-Host, as nginx or Caddy would.
func proxy(t *testing.T, target string, certFile, keyFile string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.SetXForwarded()
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp}
	go srv.ServeTLS(ln, certFile, keyFile)
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

// Behind a trusted HTTPS proxy, cookies are Secure, HSTS is sent, and the
// forwarded address is the client's for the audit log and for throttles.
// The same headers from an untrusted peer change nothing.
func TestBehindTrustedProxy(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			certFile, keyFile, pool := selfSigned(t, t.TempDir())
			// The proxy connects from 127.0.0.1; clients from 127.0.0.2 and up.
			s := startServer(t, b, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
			if !strings.HasPrefix(s.Config.BaseURL, "http://") {
				t.Fatalf("base URL %s; this test needs http:// so that only the proxy says https", s.Config.BaseURL)
			}
			const email, pw = "ada@example.com", "correct horse battery"
			s.addUser(email, "Ada", pw, false)
			front := proxy(t, s.URL, certFile, keyFile)
			alice, mallory := clientFrom("127.0.0.2", pool), clientFrom("127.0.0.3", pool)

			resp := signIn(t, alice, front, email, pw)
			checkSecure(t, "through the HTTPS proxy", resp, true)
			if got := lastLoginIP(t, s, email, gatehouse.OpUserLoggedIn); got != "127.0.0.2" {
				t.Errorf("audit ClientIP behind the proxy = %s, want the client's 127.0.0.2", got)
			}

			// A client cannot choose its address by sending X-Forwarded-For
			// through the proxy: the proxy appends the real one.
			resp = signIn(t, mallory, front, email, "wrong", "X-Forwarded-For", "198.51.100.99")
			if got := lastLoginIP(t, s, email, gatehouse.OpUserLoginFailed); got != "127.0.0.3" {
				t.Errorf("audit ClientIP with a forged X-Forwarded-For through the proxy = %s, want 127.0.0.3", got)
			}

			// Mallory's failures block Mallory's address, not Alice's.
			blocked := false
			for range 20 {
				if signIn(t, mallory, front, email, "wrong").StatusCode == http.StatusTooManyRequests {
					blocked = true
					break
				}
			}
			if !blocked {
				t.Fatal("20 wrong passwords from one client through the proxy were never throttled")
			}
			resp = signIn(t, alice, front, email, pw)
			if resp.StatusCode == http.StatusTooManyRequests {
				t.Fatalf("another client behind the same proxy is throttled too: the limit counts the proxy's address")
			}
			sessionCookie(t, resp)

			// Directly from an untrusted peer, forwarded headers are ignored.
			direct := clientFrom("127.0.0.4", nil)
			resp = signIn(t, direct, s.URL, email, pw, "X-Forwarded-For", "198.51.100.7", "X-Forwarded-Proto", "https")
			checkSecure(t, "untrusted peer claiming https", resp, false)
			if got := lastLoginIP(t, s, email, gatehouse.OpUserLoggedIn); got != "127.0.0.4" {
				t.Errorf("audit ClientIP from an untrusted peer with a forged X-Forwarded-For = %s, want the peer 127.0.0.4", got)
			}
		})
	}
}

// An https:// base URL means TLS ends in front of Gatehouse, so cookies are
// Secure and HSTS is sent even on a request that reached it in plain HTTP.
func TestHTTPSBaseURLSecuresCookies(t *testing.T) {
	s := startServer(t, testenv.Backends()[0], func(c *Config) { c.BaseURL = "https://files.example.com" })
	s.addUser("ada@example.com", "Ada", "correct horse battery", false)
	checkSecure(t, "https base URL", signIn(t, clientFrom("127.0.0.1", nil), s.URL, "ada@example.com", "correct horse battery"), true)

	plain := startServer(t, testenv.Backends()[0])
	plain.addUser("ada@example.com", "Ada", "correct horse battery", false)
	checkSecure(t, "http base URL", signIn(t, clientFrom("127.0.0.1", nil), plain.URL, "ada@example.com", "correct horse battery"), false)
}
