package httpx

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"10.0.0.0/8, 192.168.1.7 ,fd00::/8", "10.0.0.0/8 192.168.1.7/32 fd00::/8", ""},
		{"10.1.2.3/8", "10.0.0.0/8", ""},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", ""},
		{"::ffff:10.0.0.1", "10.0.0.1/32", ""},
		{"10.0.0.0/33", "", "not a CIDR range"},
		{"proxy.internal", "", "neither an IP address nor a CIDR range"},
		{"fe80::1%eth0", "", "neither"},
	} {
		got, err := ParseTrustedProxies(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTrustedProxies(%q): got %v, %v; want error saying %q", tt.in, got, err, tt.err)
			}
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if err != nil || strings.Join(s, " ") != tt.want {
			t.Errorf("ParseTrustedProxies(%q) = %q, %v; want %q", tt.in, s, err, tt.want)
		}
	}
}

func TestRealClient(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		peer       string
		xff        []string
		proto      string
		host       string
		tls        bool
		secureBase bool
		wantIP     string
		wantSecure bool
		wantHost   string
	}{
		{name: "untrusted peer's headers are ignored", peer: "203.0.113.9:5000", xff: []string{"1.2.3.4"}, proto: "https", host: "evil.test",
			wantIP: "203.0.113.9", wantHost: "gatehouse.test"},
		{name: "trusted proxy names the client", peer: "10.0.0.2:5000", xff: []string{"198.51.100.7"}, proto: "https", host: "files.example.com",
			wantIP: "198.51.100.7", wantSecure: true, wantHost: "files.example.com"},
		{name: "forged left part is skipped", peer: "10.0.0.2:5000", xff: []string{"1.2.3.4, 198.51.100.7"},
			wantIP: "198.51.100.7", wantHost: "gatehouse.test"},
		{name: "trusted hops are skipped from the right", peer: "10.0.0.2:5000", xff: []string{"1.2.3.4, 198.51.100.7", "10.9.9.9"},
			wantIP: "198.51.100.7", wantHost: "gatehouse.test"},
		{name: "all hops trusted: the left-most", peer: "10.0.0.2:5000", xff: []string{"10.1.1.1, 10.2.2.2"},
			wantIP: "10.1.1.1", wantHost: "gatehouse.test"},
		{name: "garbage stops the walk", peer: "10.0.0.2:5000", xff: []string{"198.51.100.7, bogus, 10.3.3.3"},
			wantIP: "10.3.3.3", wantHost: "gatehouse.test"},
		{name: "hop with a port", peer: "10.0.0.2:5000", xff: []string{"[2001:db8::9]:443"},
			wantIP: "2001:db8::9", wantHost: "gatehouse.test"},
		{name: "no header: the proxy itself", peer: "10.0.0.2:5000", wantIP: "10.0.0.2", wantHost: "gatehouse.test"},
		{name: "trusted IPv6 proxy, IPv4-mapped client", peer: "[2001:db8::1]:5000", xff: []string{"::ffff:198.51.100.7"},
			wantIP: "198.51.100.7", wantHost: "gatehouse.test"},
		{name: "IPv4-mapped peer matches an IPv4 range", peer: "[::ffff:10.0.0.2]:5000", xff: []string{"198.51.100.7"},
			wantIP: "198.51.100.7", wantHost: "gatehouse.test"},
		{name: "nearest proxy's proto wins", peer: "10.0.0.2:5000", proto: "https, http",
			wantIP: "10.0.0.2", wantHost: "gatehouse.test"},
		{name: "forwarded host with odd characters is ignored", peer: "10.0.0.2:5000", host: "a.test/<x>",
			wantIP: "10.0.0.2", wantHost: "gatehouse.test"},
		{name: "direct TLS", peer: "203.0.113.9:5000", tls: true, wantIP: "203.0.113.9", wantSecure: true, wantHost: "gatehouse.test"},
		{name: "https base URL", peer: "203.0.113.9:5000", secureBase: true, wantIP: "203.0.113.9", wantSecure: true, wantHost: "gatehouse.test"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var gotIP, gotHost string
			var gotSecure bool
			h := RealClient(trusted, tt.secureBase)(SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotIP, gotHost, gotSecure = ClientIP(r), r.Host, Secure(r)
				SetCookie(w, r, "c", "v", 0)
			})))
			r := httptest.NewRequest("GET", "http://gatehouse.test/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.host != "" {
				r.Header.Set("X-Forwarded-Host", tt.host)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if gotIP != tt.wantIP || gotSecure != tt.wantSecure || gotHost != tt.wantHost {
				t.Errorf("got ip %s, secure %v, host %s; want %s, %v, %s", gotIP, gotSecure, gotHost, tt.wantIP, tt.wantSecure, tt.wantHost)
			}
			hsts := w.Header().Get("Strict-Transport-Security") != ""
			cookie := w.Result().Cookies()
			if hsts != tt.wantSecure || len(cookie) != 1 || cookie[0].Secure != tt.wantSecure {
				t.Errorf("HSTS sent %v, cookies %v; want HSTS and Secure = %v", hsts, cookie, tt.wantSecure)
			}
		})
	}
}
