package httpx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a comma-separated list of IP addresses and CIDR
// ranges. An empty list trusts nobody.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR range such as 10.0.0.0/8 or fd00::/8", f)
			}
			out = append(out, unmapPrefix(p).Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR range", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// unmapPrefix turns ::ffff:10.0.0.0/104 into 10.0.0.0/8, so that it matches
// the unmapped addresses it is compared with.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

type secureKey struct{}

// Secure reports whether the client reached Gatehouse over HTTPS: directly,
// through a trusted proxy that says so, or because the public base URL is
// https:// and so whatever sits in front terminates TLS.
func Secure(r *http.Request) bool {
	if v, ok := r.Context().Value(secureKey{}).(bool); ok {
		return v
	}
	return r.TLS != nil
}

// RealClient is the first middleware: it settles who the client is and
// whether the request is secure, so ClientIP, SetCookie and the HSTS header
// follow without their callers knowing about proxies. X-Forwarded-For,
// -Proto and -Host count only when the TCP peer is in trusted; the client
// is then the right-most address in X-Forwarded-For that is not itself a
// trusted proxy, since everything left of it may be forged by the client.
// secureBase says the public base URL is https://.
func RealClient(trusted []netip.Prefix, secureBase bool) func(http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			secure := r.TLS != nil || secureBase
			if peer, ok := remoteAddr(r.RemoteAddr); ok && len(trusted) > 0 && isTrusted(peer) {
				client := peer
				hops := forwardedList(r.Header.Values("X-Forwarded-For"))
				for i := len(hops) - 1; i >= 0; i-- {
					a, ok := remoteAddr(hops[i])
					if !ok {
						break // garbage: stop at the last hop a trusted proxy vouched for
					}
					client = a
					if !isTrusted(client) {
						break
					}
				}
				if client != peer {
					r.RemoteAddr = net.JoinHostPort(client.String(), "0")
				}
				// The nearest proxy speaks last, so its value is the right-most.
				if p := lastOf(r.Header.Values("X-Forwarded-Proto")); p != "" {
					secure = secure || strings.EqualFold(p, "https")
				}
				if h := lastOf(r.Header.Values("X-Forwarded-Host")); h != "" && validHost(h) {
					r.Host = h
				}
			}
			if secure == (r.TLS != nil) {
				// Secure says as much without it; saves copying the request.
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), secureKey{}, secure)))
		})
	}
}

// remoteAddr reads an address with or without a port.
func remoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err == nil
}

// forwardedList splits repeated, comma-separated header values in order.
func forwardedList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(f))
		}
	}
	return out
}

func lastOf(values []string) string {
	l := forwardedList(values)
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}

// validHost accepts host or host:port with the characters a DNS name or an
// IP literal can have, so a forwarded Host cannot smuggle anything else.
func validHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-.:[]", c)) {
			return false
		}
	}
	return true
}
