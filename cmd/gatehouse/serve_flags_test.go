package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// clearServeEnv unsets every variable serve reads, so the machine's
// environment does not leak into a test.
func clearServeEnv(t *testing.T) {
	for _, v := range []string{"DATA", "DATABASE_URL", "AUDIT_KEY_FILE", "LISTEN", "BASE_URL", "MAX_UPLOAD_MIB", "SMTP_URL",
		"MAIL_FROM", "PASSCODE_REAUTH_DAYS", "ORG_DOMAINS", "TLS_CERT", "TLS_KEY", "TRUSTED_PROXIES"} {
		t.Setenv("GATEHOUSE_"+v, "")
	}
}

// Every serve flag value is checked before the server starts, and a bad one
// is refused with exit status 2 and a message that names the flag.
func TestServeFlags(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string // a part of the error; "" for none
	}{
		{args: nil},
		{args: []string{"--listen", ":8443", "--base-url", "https://files.example.com/gatehouse/", "--max-upload-mib", "1",
			"--org-domains", "Example.com, ,partner.test", "--passcode-reauth-days", "365", "--smtp-url", "smtps://u:p@mail.example.com:465",
			"--mail-from", "Files <files@example.com>", "--trusted-proxies", "10.0.0.0/8, 192.168.1.1, fd00::/8",
			"--tls-cert", certFile, "--tls-key", keyFile, "--database", "postgres://gatehouse@db.internal/gatehouse"}},
		{args: []string{"--data", ""}, want: "--data:"},
		{args: []string{"--database", "mysql://u:secret@db/x"}, want: "--database:"},
		{args: []string{"--listen", "localhost"}, want: "--listen:"},
		{args: []string{"--listen", ":99999"}, want: "--listen:"},
		{args: []string{"--listen", "a b:80"}, want: "--listen:"},
		{args: []string{"--base-url", "files.example.com"}, want: "--base-url:"},
		{args: []string{"--base-url", "ftp://files.example.com"}, want: "--base-url:"},
		{args: []string{"--base-url", "https://"}, want: "--base-url:"},
		{args: []string{"--base-url", "https://files.example.com/?a=b"}, want: "--base-url:"},
		{args: []string{"--max-upload-mib", "-5"}, want: "--max-upload-mib:"},
		{args: []string{"--max-upload-mib", "0"}, want: "--max-upload-mib:"},
		{args: []string{"--max-upload-mib", "ten"}, want: "--max-upload-mib:"},
		{args: []string{"--max-upload-mib", "9223372036854775807"}, want: "--max-upload-mib:"},
		{args: []string{"--org-domains", "not a domain"}, want: "--org-domains:"},
		{args: []string{"--org-domains", "example.com,localhost"}, want: "--org-domains:"},
		{args: []string{"--org-domains", "ada@example.com"}, want: "--org-domains:"},
		{args: []string{"--org-domains", "-bad.example.com"}, want: "--org-domains:"},
		{args: []string{"--passcode-reauth-days", "0"}, want: "--passcode-reauth-days:"},
		{args: []string{"--passcode-reauth-days", "366"}, want: "--passcode-reauth-days:"},
		{args: []string{"--passcode-reauth-days", "a month"}, want: "--passcode-reauth-days:"},
		{args: []string{"--smtp-url", "http://mail.example.com"}, want: "--smtp-url:"},
		{args: []string{"--smtp-url", "smtp://mail.example.com"}, want: "--smtp-url:"},
		{args: []string{"--mail-from", "nobody"}, want: "--mail-from:"},
		{args: []string{"--trusted-proxies", "10.0.0.0/33"}, want: "--trusted-proxies:"},
		{args: []string{"--trusted-proxies", "proxy.internal"}, want: "--trusted-proxies:"},
		{args: []string{"--tls-cert", certFile}, want: "--tls-key:"},
		{args: []string{"--tls-key", keyFile}, want: "--tls-cert:"},
		{args: []string{"--tls-cert", keyFile, "--tls-key", certFile}, want: "--tls-cert:"},
		{args: []string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", keyFile}, want: "--tls-cert:"},
		{args: []string{"extra"}, want: "unexpected argument"},
		{env: map[string]string{"GATEHOUSE_MAX_UPLOAD_MIB": "-1"}, want: "--max-upload-mib:"},
		{env: map[string]string{"GATEHOUSE_TLS_CERT": certFile}, want: "--tls-key:"},
		{env: map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8;10.1.0.0/16"}, want: "--trusted-proxies:"},
		{env: map[string]string{"GATEHOUSE_TLS_CERT": certFile, "GATEHOUSE_TLS_KEY": keyFile, "GATEHOUSE_TRUSTED_PROXIES": "127.0.0.1"}},
	} {
		name := strings.Join(tt.args, " ")
		for k, v := range tt.env {
			name += " " + k + "=" + v
		}
		t.Run(name, func(t *testing.T) {
			clearServeEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := parseServe(tt.args, io.Discard)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var e *exitError
			if !errors.As(err, &e) || e.code != 2 || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v (%#v), want exit status 2 and an error containing %q", err, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the message shows a password: %v", err)
			}
		})
	}
}

// The defaults, with no flags and no variables, make a working local server.
func TestServeDefaults(t *testing.T) {
	clearServeEnv(t)
	c, err := parseServe(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Data != "./gatehouse-data" || c.MaxUpload != 10240<<20 || c.ReauthDays != 30 ||
		c.TLSCert != "" || len(c.TrustedProxies) != 0 || len(c.OrgDomains) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	t.Setenv("GATEHOUSE_ORG_DOMAINS", "Example.com, partner.test")
	t.Setenv("GATEHOUSE_MAX_UPLOAD_MIB", "5")
	t.Setenv("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8")
	if c, err = parseServe(nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.OrgDomains, ",") != "example.com,partner.test" || c.MaxUpload != 5<<20 || len(c.TrustedProxies) != 1 {
		t.Errorf("from the environment: %+v", c)
	}
}

// A bad value stops serve before it opens anything.
func TestServeRefusesBeforeStarting(t *testing.T) {
	clearServeEnv(t)
	dir := t.TempDir() + "/never-made"
	err := runServe(context.Background(), []string{"--data", dir, "--max-upload-mib", "-5"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--max-upload-mib") {
		t.Fatalf("got %v, want an error naming --max-upload-mib", err)
	}
	if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
		t.Errorf("the data directory was created before the flags were checked (%v)", statErr)
	}
}
