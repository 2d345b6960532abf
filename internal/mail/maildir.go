package mail

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// maildirSender delivers by writing files into a Maildir.
type maildirSender struct {
	dir string
	log *slog.Logger
	now clock
}

// NewMaildir returns a Sender that delivers into the Maildir at dir, creating
// dir/tmp, dir/new and dir/cur (mode 0700) on first use. Each delivery is
// logged at Info. A nil log uses slog.Default.
func NewMaildir(dir string, log *slog.Logger) Sender {
	if log == nil {
		log = slog.Default()
	}
	return &maildirSender{dir: dir, log: log, now: time.Now}
}

// Send implements Sender. It follows the Maildir protocol: write to tmp,
// fsync, then rename into new, so a reader never sees half a message.
func (s *maildirSender) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	raw, err := m.Bytes(now, newMessageID(m.From))
	if err != nil {
		return err
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(s.dir, sub), 0o700); err != nil {
			return fmt.Errorf("mail: could not create the maildir: %w", err)
		}
	}
	name := maildirName(now)
	tmp := filepath.Join(s.dir, "tmp", name)
	dst := filepath.Join(s.dir, "new", name)
	if err := writeSynced(tmp, raw); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mail: could not write the message into the maildir: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mail: could not move the message into the maildir: %w", err)
	}
	// The rename is only durable once the directory entry is on disk.
	if d, err := os.Open(filepath.Join(s.dir, "new")); err == nil {
		d.Sync()
		d.Close()
	}
	s.log.InfoContext(ctx, "mail delivered to maildir",
		"to", m.To, "subject", m.Subject, "path", dst)
	return nil
}

// writeSynced creates path exclusively and writes data to stable storage.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// maildirName returns a unique file name <unixnano>.<random>.<hostname>.
func maildirName(now time.Time) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	// The Maildir spec reserves "/" and ":" (the latter starts the flags
	// suffix in cur/), and asks for them to be written as octal escapes.
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	return strconv.FormatInt(now.UnixNano(), 10) + "." + randomHex(8) + "." + host
}
