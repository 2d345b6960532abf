package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"gatehouse/internal/testenv"
)

// pprof is off unless asked for, is never on the main server's routes, and
// refuses any address that is not loopback.
func TestPprof(t *testing.T) {
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	b := testenv.Backends()[0]

	t.Run("off by default", func(t *testing.T) {
		clearServeEnv(t)
		t.Setenv("GATEHOUSE_PPROF_ADDR", "")
		c, err := parseServe(nil, io.Discard)
		if err != nil || c.PprofAddr != "" {
			t.Fatalf("default --pprof-addr: %q, %v", c.PprofAddr, err)
		}
		s := startServer(t, b)
		if s.pprof != nil {
			t.Fatal("a pprof listener started without --pprof-addr")
		}
		for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile?seconds=1", "/debug/pprof/goroutine?debug=1"} {
			if st, body := get(s.URL + p); st == 200 || strings.Contains(body, "goroutine") {
				t.Errorf("GET %s on the main listener: %d %.100s", p, st, body)
			}
		}
	})

	t.Run("on its own loopback listener", func(t *testing.T) {
		s := startServer(t, b, func(c *Config) { c.PprofAddr = "127.0.0.1:0" })
		if s.pprof == nil || !strings.HasPrefix(s.pprof.URL, "http://127.0.0.1:") || s.pprof.URL == s.URL {
			t.Fatalf("pprof listener: %+v (main %s)", s.pprof, s.URL)
		}
		if st, body := get(s.pprof.URL + "/debug/pprof/goroutine?debug=1"); st != 200 || !strings.Contains(body, "goroutine") {
			t.Errorf("goroutine profile on the pprof listener: %d %.100s", st, body)
		}
		if st, body := get(s.pprof.URL + "/debug/pprof/cmdline"); st != 200 || body == "" {
			t.Errorf("cmdline on the pprof listener: %d", st)
		}
		// The main listener still has none of it, nor the pprof one the app.
		if st, _ := get(s.URL + "/debug/pprof/"); st == 200 {
			t.Errorf("/debug/pprof/ on the main listener: %d", st)
		}
		if st, _ := get(s.pprof.URL + "/healthz"); st == 200 {
			t.Errorf("/healthz on the pprof listener: %d", st)
		}
		url := s.pprof.URL
		s.Close()
		if resp, err := http.Get(url + "/debug/pprof/"); err == nil {
			resp.Body.Close()
			t.Errorf("pprof still answers after Close: %d", resp.StatusCode)
		}
	})

	t.Run("refuses other addresses", func(t *testing.T) {
		clearServeEnv(t)
		for _, addr := range []string{"0.0.0.0:6060", ":6060", "[::]:6060", "192.168.1.10:6060", "10.0.0.1:6060", "example.com:6060", "127.0.0.1", "127.0.0.1:70000"} {
			_, err := parseServe([]string{"--pprof-addr", addr}, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), "--pprof-addr:") || exitCode(err) != 2 {
				t.Errorf("--pprof-addr %s: %v, want a refusal naming the flag", addr, err)
			}
		}
		t.Setenv("GATEHOUSE_PPROF_ADDR", "0.0.0.0:6060")
		if _, err := parseServe(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("GATEHOUSE_PPROF_ADDR=0.0.0.0:6060: %v, want a refusal", err)
		}
		for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060", "127.0.0.2:0"} {
			t.Setenv("GATEHOUSE_PPROF_ADDR", addr)
			if c, err := parseServe(nil, io.Discard); err != nil || c.PprofAddr != addr {
				t.Errorf("GATEHOUSE_PPROF_ADDR=%s: %q, %v", addr, c.PprofAddr, err)
			}
		}
		// A Main given the address directly checks it too, before serving.
		dir := t.TempDir()
		m := &Main{Config: Config{Listen: "127.0.0.1:0", Data: dir, Database: b.DSN(t, dir), PprofAddr: "0.0.0.0:0"},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "loopback") {
			m.Close()
			t.Errorf("Run with pprof on 0.0.0.0: %v, want a refusal", err)
		}
	})
}
