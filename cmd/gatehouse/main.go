// Command gatehouse runs the Gatehouse server and its administration tools.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/api"
	"gatehouse/internal/blob"
	"gatehouse/internal/httpx"
	"gatehouse/internal/mail"
	"gatehouse/internal/outbox"
	"gatehouse/internal/store"
	"gatehouse/internal/web"
)

// Config is everything serve needs; each field has a flag and a variable.
type Config struct {
	Listen     string
	Data       string
	Database   string
	BaseURL    string
	OrgDomains []string
	MaxUpload  int64
	SMTPURL    string // "" delivers to a Maildir in the data directory
	AuditKey   string // file holding the audit chain's HMAC key; "" means <data>/audit.key
	MailFrom   string
	ReauthDays int // passcode re-authentication period for "keep me verified"
}

// env returns the variable's value or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// storageFlags registers --data and --database, shared by every command.
func storageFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Data, "data", env("GATEHOUSE_DATA", "./gatehouse-data"), "data directory `dir` (GATEHOUSE_DATA)")
	fs.StringVar(&c.Database, "database", env("GATEHOUSE_DATABASE_URL", ""), "database `url`: postgres://… or a SQLite path; default SQLite in the data directory (GATEHOUSE_DATABASE_URL)")
	fs.StringVar(&c.AuditKey, "audit-key-file", env("GATEHOUSE_AUDIT_KEY_FILE", ""), "`file` with the audit chain's HMAC key, created on first start; default <data>/audit.key; every node needs the same (GATEHOUSE_AUDIT_KEY_FILE)")
}

func serveFlags(fs *flag.FlagSet, c *Config) *string {
	storageFlags(fs, c)
	fs.StringVar(&c.Listen, "listen", env("GATEHOUSE_LISTEN", "127.0.0.1:8080"), "listen `address` (GATEHOUSE_LISTEN)")
	fs.StringVar(&c.BaseURL, "base-url", env("GATEHOUSE_BASE_URL", ""), "public `url` of this server, used in links; default http://<listen> (GATEHOUSE_BASE_URL)")
	fs.Int64Var(&c.MaxUpload, "max-upload-mib", envInt("GATEHOUSE_MAX_UPLOAD_MIB", 10240), "largest upload in `MiB` (GATEHOUSE_MAX_UPLOAD_MIB)")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("GATEHOUSE_SMTP_URL", ""), "outgoing mail `url`: smtp://[user:pass@]host:port, smtp+starttls://… or smtps://…; empty writes mail to <data>/maildir (GATEHOUSE_SMTP_URL)")
	fs.StringVar(&c.MailFrom, "mail-from", env("GATEHOUSE_MAIL_FROM", "Gatehouse <gatehouse@localhost>"), "sender `address` of every mail (GATEHOUSE_MAIL_FROM)")
	fs.IntVar(&c.ReauthDays, "passcode-reauth-days", int(envInt("GATEHOUSE_PASSCODE_REAUTH_DAYS", 30)), "`days` a recipient who ticks \"keep me verified\" stays verified, 1–365 (GATEHOUSE_PASSCODE_REAUTH_DAYS)")
	domains := fs.String("org-domains", env("GATEHOUSE_ORG_DOMAINS", ""), "the organization's email `domains`, comma-separated (GATEHOUSE_ORG_DOMAINS)")
	return domains
}

func envInt(name string, def int64) int64 {
	var n int64
	if _, err := fmt.Sscan(env(name, ""), &n); err == nil {
		return n
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// openStore opens the content directory and the database of c.
func openStore(ctx context.Context, c *Config) (*store.Store, *blob.Store, error) {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	blobs, err := blob.Open(c.Data)
	if err != nil {
		return nil, nil, err
	}
	dsn := c.Database
	if dsn == "" {
		dsn = filepath.Join(c.Data, "gatehouse.db")
	}
	s, err := store.Open(ctx, dsn, blobs)
	if err != nil {
		return nil, nil, err
	}
	keyFile := c.AuditKey
	if keyFile == "" {
		keyFile = filepath.Join(c.Data, "audit.key")
	}
	key, err := loadAuditKey(keyFile)
	if err == nil {
		err = s.SetAuditKey(ctx, key)
	}
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("audit key %s: %w", keyFile, err)
	}
	s.BaseURL = c.BaseURL
	if c.MailFrom != "" {
		s.MailFrom = c.MailFrom
	}
	return s, blobs, nil
}

// loadAuditKey reads the audit chain's key from path, creating the file
// with a new random key if there is none. The key stays out of the
// database, so whoever can write the database cannot rewrite the chain.
func loadAuditKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 32 {
			return nil, errors.New("the file does not hold a key of 64 hex digits")
		}
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	// Written whole under a temporary name, then linked into place: a
	// process starting at the same moment sees either no key or all of it.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".audit-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return loadAuditKey(path) // another process made it first
	} else if err != nil {
		return nil, err
	}
	return key, nil
}

// Main is a running server; tests start it on :0.
type Main struct {
	Config Config
	Store  *store.Store
	Blobs  *blob.Store
	URL    string // where it listens, http://host:port
	Log    *slog.Logger

	ln     net.Listener
	srv    *http.Server
	outbox func() // stops the mail worker
}

// Run opens storage, sweeps orphaned content and starts serving. It returns
// once the listener is open.
func (m *Main) Run(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return err
	}
	m.ln = ln
	m.URL = "http://" + ln.Addr().String()
	if m.Config.BaseURL == "" {
		m.Config.BaseURL = m.URL
	}
	m.Config.BaseURL = strings.TrimRight(m.Config.BaseURL, "/")
	if m.Config.MaxUpload <= 0 {
		m.Config.MaxUpload = 10 << 30
	}
	if m.Config.ReauthDays == 0 {
		m.Config.ReauthDays = gatehouse.DefaultReauthDays
	}
	if m.Store, m.Blobs, err = openStore(ctx, &m.Config); err != nil {
		ln.Close()
		return err
	}
	// On PostgreSQL other nodes may be between writing content and
	// committing it, so only old orphans go; SQLite has this node alone.
	grace := time.Duration(0)
	if m.Store.Postgres() {
		grace = time.Hour
	}
	if n, err := m.Blobs.Sweep(func(k string) (bool, error) { return m.Store.BlobReferenced(ctx, k) }, grace); err != nil {
		m.Log.Warn("sweeping orphaned content failed", "err", err)
	} else if n > 0 {
		m.Log.Info("removed orphaned content", "files", n)
	}
	sender := mail.NewMaildir(filepath.Join(m.Config.Data, "maildir"), m.Log)
	if m.Config.SMTPURL != "" {
		if sender, err = mail.NewSMTP(m.Config.SMTPURL); err != nil {
			m.Store.Close()
			ln.Close()
			return err
		}
	}
	m.outbox = (&outbox.Worker{Store: m.Store, Sender: sender, Log: m.Log}).Start(context.WithoutCancel(ctx))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Store.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	api.New(m.Store, api.Config{BaseURL: m.Config.BaseURL, MaxUpload: m.Config.MaxUpload}).Register(mux)
	web.New(m.Store, web.Config{BaseURL: m.Config.BaseURL, MaxUpload: m.Config.MaxUpload,
		OrgDomains: m.Config.OrgDomains, ReauthDays: m.Config.ReauthDays}).Register(mux)

	m.srv = &http.Server{
		Handler:           httpx.SecurityHeaders(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	go m.srv.Serve(ln)

	if n, err := m.Store.CountUsers(ctx); err == nil && n == 0 {
		m.Log.Info("the directory is empty; create the first administrator with: " +
			"gatehouse user add --email you@example.com --name \"Your Name\" --admin (reads the password from standard input)")
	}
	m.Log.Info("gatehouse is serving", "url", m.URL, "base_url", m.Config.BaseURL, "data", m.Config.Data, "postgres", m.Store.Postgres())
	return nil
}

// Close stops serving, letting requests in flight finish for a few seconds.
func (m *Main) Close() error {
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.srv.Shutdown(ctx)
	}
	if m.outbox != nil {
		m.outbox()
	}
	if m.Store != nil {
		return m.Store.Close()
	}
	return nil
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	domains := serveFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.OrgDomains = splitList(*domains)
	c.MaxUpload <<= 20
	if err := gatehouse.ValidateReauthDays(c.ReauthDays); err != nil {
		return &exitError{2, "--passcode-reauth-days: " + gatehouse.ErrorMessage(err)}
	}
	m := &Main{Config: c}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	slog.Info("shutting down")
	return m.Close()
}
