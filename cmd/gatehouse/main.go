// Command gatehouse runs the Gatehouse server and its administration tools.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gatehouse"
	"gatehouse/internal/api"
	"gatehouse/internal/blob"
	"gatehouse/internal/httpx"
	"gatehouse/internal/mail"
	"gatehouse/internal/oidc"
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
	OrgName    string // names the organization to recipients; "" is the first org domain
	MaxUpload  int64
	SMTPURL    string // "" delivers to a Maildir in the data directory
	AuditKey   string // file holding the audit chain's HMAC key; "" means <data>/audit.key
	MailFrom   string
	ReauthDays int // passcode re-authentication period for "keep me verified"

	TLSCert, TLSKey string         // PEM files; both set serves HTTPS with HTTP/2
	TrustedProxies  []netip.Prefix // peers whose X-Forwarded-* headers count

	PprofAddr string // loopback address for net/http/pprof; "" serves none
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

// serveValues holds serve's flags that are checked after parsing, so that a
// bad value from a flag or a variable is refused with the flag's name.
type serveValues struct {
	maxUpload, reauthDays, orgDomains, trustedProxies string
}

func serveFlags(fs *flag.FlagSet, c *Config) *serveValues {
	var v serveValues
	storageFlags(fs, c)
	fs.StringVar(&c.Listen, "listen", env("GATEHOUSE_LISTEN", "127.0.0.1:8080"), "listen `address` (GATEHOUSE_LISTEN)")
	fs.StringVar(&c.BaseURL, "base-url", env("GATEHOUSE_BASE_URL", ""), "public `url` of this server, used in links; default http://<listen>, or https:// with --tls-cert (GATEHOUSE_BASE_URL)")
	fs.StringVar(&v.maxUpload, "max-upload-mib", env("GATEHOUSE_MAX_UPLOAD_MIB", strconv.Itoa(gatehouse.DefaultMaxUploadMiB)), "largest upload in `MiB` (GATEHOUSE_MAX_UPLOAD_MIB)")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("GATEHOUSE_SMTP_URL", ""), "outgoing mail `url`: smtp://[user:pass@]host:port, smtp+starttls://… or smtps://…; empty writes mail to <data>/maildir (GATEHOUSE_SMTP_URL)")
	fs.StringVar(&c.MailFrom, "mail-from", env("GATEHOUSE_MAIL_FROM", gatehouse.DefaultMailFrom), "sender `address` of every mail (GATEHOUSE_MAIL_FROM)")
	fs.StringVar(&v.reauthDays, "passcode-reauth-days", env("GATEHOUSE_PASSCODE_REAUTH_DAYS", "30"), "initial `days` a recipient who ticks \"keep me verified\" stays verified, 1–365; then the sharing setting emailAttestationReAuthDays (GATEHOUSE_PASSCODE_REAUTH_DAYS)")
	fs.StringVar(&v.orgDomains, "org-domains", env("GATEHOUSE_ORG_DOMAINS", ""), "the organization's email `domains`, comma-separated (GATEHOUSE_ORG_DOMAINS)")
	fs.StringVar(&c.OrgName, "org-name", env("GATEHOUSE_ORG_NAME", ""), "the organization's `name`, shown to recipients (\"Ada Lovelace at Example shared something with you\"); default the first org domain (GATEHOUSE_ORG_NAME)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("GATEHOUSE_TLS_CERT", ""), "PEM certificate chain `file`; with --tls-key, serves HTTPS and HTTP/2 (GATEHOUSE_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("GATEHOUSE_TLS_KEY", ""), "PEM private key `file` of --tls-cert (GATEHOUSE_TLS_KEY)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", env("GATEHOUSE_PPROF_ADDR", ""), "serve net/http/pprof on this loopback `address` (such as 127.0.0.1:6060), on a listener of its own; off when empty (GATEHOUSE_PPROF_ADDR)")
	fs.StringVar(&v.trustedProxies, "trusted-proxies", env("GATEHOUSE_TRUSTED_PROXIES", ""), "reverse proxies whose X-Forwarded-For, -Proto and -Host are believed: comma-separated `addresses` or CIDR ranges (GATEHOUSE_TRUSTED_PROXIES)")
	return &v
}

// flagError is a bad flag value, named the way the user typed it.
func flagError(name, format string, args ...any) error {
	return &exitError{2, "--" + name + ": " + fmt.Sprintf(format, args...)}
}

// parseServe parses and checks serve's flags, so that a mistake stops the
// server before it starts rather than when a request needs the value.
func parseServe(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	v := serveFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, &exitError{2, fmt.Sprintf("serve: unexpected argument %q", fs.Arg(0))}
	}
	if strings.TrimSpace(c.Data) == "" {
		return c, flagError("data", "a data directory is required")
	}
	if d := c.Database; strings.Contains(d, "://") && !strings.HasPrefix(d, "postgres://") &&
		!strings.HasPrefix(d, "postgresql://") && !strings.HasPrefix(d, "sqlite://") {
		return c, flagError("database", "%q is neither a postgres:// URL nor a SQLite file path", redactURL(d))
	}
	if err := checkListen(c.Listen); err != nil {
		return c, flagError("listen", "%v", err)
	}
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			return c, flagError("base-url", "%v", err)
		}
	}
	mib, err := strconv.ParseInt(strings.TrimSpace(v.maxUpload), 10, 64)
	if err != nil || mib < 1 || mib > math.MaxInt64>>20 {
		return c, flagError("max-upload-mib", "%q is not a whole number of MiB from 1 to %d", v.maxUpload, int64(math.MaxInt64>>20))
	}
	c.MaxUpload = mib << 20
	if c.ReauthDays, err = strconv.Atoi(strings.TrimSpace(v.reauthDays)); err != nil {
		return c, flagError("passcode-reauth-days", "%q is not a whole number of days", v.reauthDays)
	}
	if err := gatehouse.ValidateReauthDays(c.ReauthDays); err != nil {
		return c, flagError("passcode-reauth-days", "%s", gatehouse.ErrorMessage(err))
	}
	c.OrgDomains = splitList(v.orgDomains)
	for _, d := range c.OrgDomains {
		if !gatehouse.ValidDomainName(d) {
			return c, flagError("org-domains", "%q is not a domain name such as example.com; separate domains with commas", d)
		}
	}
	c.OrgName = strings.TrimSpace(c.OrgName)
	if strings.ContainsFunc(c.OrgName, unicode.IsControl) || len(c.OrgName) > 200 {
		return c, flagError("org-name", "the name must be one line of at most 200 bytes")
	}
	if c.SMTPURL != "" {
		if _, err := mail.NewSMTP(c.SMTPURL); err != nil {
			return c, flagError("smtp-url", "%s", strings.TrimPrefix(err.Error(), "mail: "))
		}
	}
	if a, err := netmail.ParseAddress(c.MailFrom); err != nil || !strings.Contains(a.Address, "@") {
		return c, flagError("mail-from", "%q is not an email address such as \"Gatehouse <gatehouse@example.com>\"", c.MailFrom)
	}
	if c.TrustedProxies, err = httpx.ParseTrustedProxies(v.trustedProxies); err != nil {
		return c, flagError("trusted-proxies", "%v", err)
	}
	if _, err := loadTLS(&c); err != nil {
		return c, err
	}
	if c.PprofAddr != "" {
		if err := checkPprofAddr(c.PprofAddr); err != nil {
			return c, flagError("pprof-addr", "%v", err)
		}
	}
	return c, nil
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address such as 127.0.0.1:8080 or :8443", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q has no port number from 0 to 65535 (got %q)", addr, port)
	}
	if strings.ContainsAny(host, " /\\@") {
		return fmt.Errorf("%q does not have a host name or IP address before the port", addr)
	}
	return nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL with a host, such as https://files.example.com", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") {
		return fmt.Errorf("%q must not have a user, query or fragment: links are built by appending paths to it", s)
	}
	return nil
}

// redactURL hides a password in a URL that goes into a message.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// loadTLS reads the certificate and key of c, or returns nil without them.
func loadTLS(c *Config) (*tls.Config, error) {
	switch {
	case c.TLSCert == "" && c.TLSKey == "":
		return nil, nil
	case c.TLSKey == "":
		return nil, flagError("tls-key", "--tls-cert is set, so the private key file is required too")
	case c.TLSCert == "":
		return nil, flagError("tls-cert", "--tls-key is set, so the certificate file is required too")
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, flagError("tls-cert", "cannot use %s with the key in %s: %v", c.TLSCert, c.TLSKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
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
	keyFile := c.AuditKey
	if keyFile == "" {
		keyFile = filepath.Join(c.Data, "audit.key")
	}
	key, err := loadAuditKey(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("audit key %s: %w", keyFile, err)
	}
	s, err := store.Open(ctx, dsn, blobs, store.Options{BaseURL: c.BaseURL, MailFrom: c.MailFrom, AuditKey: key, ReauthDays: c.ReauthDays,
		OrgDomains: c.OrgDomains, OrgName: c.OrgName})
	if err != nil {
		return nil, nil, fmt.Errorf("open the store (audit key %s): %w", keyFile, err)
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
	URL    string // where it listens: http://host:port, or https:// with TLS
	Log    *slog.Logger

	ln          net.Listener
	srv         *http.Server
	pprof       *pprofServer       // nil unless Config.PprofAddr is set
	lock        *os.File           // the data directory's lock, held until Close
	outbox      func()             // stops the mail worker
	stopSweep   context.CancelFunc // ends the background sweep early
	sweepDone   chan struct{}      // closed when the sweep has finished
	binDone     chan struct{}      // closed when the recycle bin's purge loop has ended
	sweepResult error
	beforeSweep func() // tests hold the sweep here
}

// Run locks the data directory, opens storage and starts serving, with the
// sweep of orphaned content in the background. It returns once the listener
// is open.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	tlsConfig, err := loadTLS(&m.Config)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.Config.Data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if m.lock, err = lockDataDir(m.Config.Data, !isPostgres(m.Config.Database)); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return err
	}
	m.ln = ln
	m.URL = "http://" + ln.Addr().String()
	if tlsConfig != nil {
		m.URL = "https://" + ln.Addr().String()
	}
	if m.Config.BaseURL == "" {
		m.Config.BaseURL = m.URL
	}
	m.Config.BaseURL = strings.TrimRight(m.Config.BaseURL, "/")
	if m.Config.MaxUpload <= 0 {
		m.Config.MaxUpload = gatehouse.DefaultMaxUploadMiB << 20
	}
	if m.Config.ReauthDays == 0 {
		m.Config.ReauthDays = gatehouse.DefaultReauthDays
	}
	if m.Store, m.Blobs, err = openStore(ctx, &m.Config); err != nil {
		return err
	}
	if m.Config.PprofAddr != "" {
		if m.pprof, err = startPprof(m.Config.PprofAddr, m.Log); err != nil {
			return err
		}
	}
	if err := m.startSweep(); err != nil {
		return err
	}
	sender := mail.NewMaildir(filepath.Join(m.Config.Data, "maildir"), m.Log)
	if m.Config.SMTPURL != "" {
		if sender, err = mail.NewSMTP(m.Config.SMTPURL); err != nil {
			return err
		}
	}
	m.outbox = (&outbox.Worker{Store: m.Store, Sender: sender, Log: m.Log}).Start(context.WithoutCancel(ctx))

	mux := http.NewServeMux()
	m.routes(mux)

	// RealClient comes first: every handler after it, the security
	// headers included, sees the client's address and scheme.
	realClient := httpx.RealClient(m.Config.TrustedProxies, strings.HasPrefix(m.Config.BaseURL, "https://"))
	m.srv = &http.Server{
		Handler:           realClient(httpx.SecurityHeaders(mux)),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	if tlsConfig != nil {
		go m.srv.ServeTLS(ln, "", "") // with HTTP/2, which ServeTLS offers by itself
	} else {
		go m.srv.Serve(ln)
	}

	if n, err := m.Store.CountUsers(ctx); err == nil && n == 0 {
		m.Log.Info("the directory is empty; create the first administrator with: " +
			"gatehouse user add --email you@example.com --name \"Your Name\" --admin (asks for the password, or reads it from standard input)")
	}
	m.Log.Info("gatehouse is serving", "url", m.URL, "base_url", m.Config.BaseURL, "data", m.Config.Data,
		"postgres", m.Store.Postgres(), "tls", tlsConfig != nil, "trusted_proxies", len(m.Config.TrustedProxies))
	return nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// startSweep removes, in the background, temporary files and content that no
// metadata refers to. Only content older than this start is considered, by
// the file system's own clock: newer content may belong to an upload between
// rename and commit. On PostgreSQL other nodes may be there too, so their
// orphans get an hour; on SQLite the lock says this node is alone.
func (m *Main) startSweep() error {
	before, err := m.Blobs.Clock()
	if err != nil {
		return fmt.Errorf("content directory: %w", err)
	}
	if m.Store.Postgres() {
		before = before.Add(-time.Hour)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stopSweep, m.sweepDone, m.binDone = cancel, make(chan struct{}), make(chan struct{})
	go m.purgeRecycleBins(ctx)
	go func() {
		defer close(m.sweepDone)
		if m.beforeSweep != nil {
			m.beforeSweep()
		}
		start := time.Now()
		n, err := m.Blobs.Sweep(ctx, before, m.Store.ReferencedBlobs)
		m.sweepResult = err
		switch {
		case err != nil && ctx.Err() == nil:
			m.Log.Warn("sweeping orphaned content failed", "err", err, "removed", n)
		case n > 0:
			m.Log.Info("removed orphaned content", "files", n, "took", time.Since(start).Round(time.Millisecond))
		}
	}()
	return nil
}

// purgeRecycleBins purges what has outstayed recycleBinRetentionDays in
// the recycle bins, and old code-request times, at start and then hourly,
// until ctx ends. Each purge
// decides again in its transaction, so several nodes may run it at once.
func (m *Main) purgeRecycleBins(ctx context.Context) {
	defer close(m.binDone)
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := m.Store.PurgeExpiredRecycleBin(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			m.Log.Warn("purging expired recycle bin items failed", "err", err, "purged", n)
		case n > 0:
			m.Log.Info("purged expired recycle bin items", "items", n)
		}
		// Code-request times outlive their use; the hourly pass drops them.
		if _, err := m.Store.SweepCodeRequests(ctx); err != nil && ctx.Err() == nil {
			m.Log.Warn("sweeping old code requests failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close stops serving, letting requests in flight finish for a few seconds,
// then the sweep and the mail worker, and releases the data directory.
func (m *Main) Close() error {
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.srv.Shutdown(ctx)
		m.srv = nil
	} else if m.ln != nil {
		m.ln.Close()
	}
	m.ln = nil
	if m.pprof != nil {
		m.pprof.close()
		m.pprof = nil
	}
	if m.stopSweep != nil {
		m.stopSweep()
		<-m.sweepDone
		<-m.binDone
		m.stopSweep = nil
	}
	if m.outbox != nil {
		m.outbox()
		m.outbox = nil
	}
	var err error
	if m.Store != nil {
		err = m.Store.Close()
		m.Store = nil
	}
	if m.lock != nil {
		m.lock.Close() // closing the descriptor releases the lock
		m.lock = nil
	}
	return err
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	m := &Main{Config: c}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	slog.Info("shutting down")
	return m.Close()
}

// routes registers every route the server answers, surface by surface. The
// route test registers the same on a recorder, so a new surface is
// enumerated there too.
func (m *Main) routes(mux httpx.Mux) {
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Store.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	api.New(m.Store, api.Config{BaseURL: m.Config.BaseURL, MaxUpload: m.Config.MaxUpload, OrgDomains: m.Config.OrgDomains}).Register(mux)
	rp := oidc.New(m.Store, oidc.Options{BaseURL: m.Config.BaseURL, Provider: web.PartnerProviders(m.Store)})
	web.New(m.Store, web.Config{BaseURL: m.Config.BaseURL, MaxUpload: m.Config.MaxUpload,
		OrgDomains: m.Config.OrgDomains, OIDC: rp}).Register(mux)
}
