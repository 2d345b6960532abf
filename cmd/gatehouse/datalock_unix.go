//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockFile is the name of the data directory's lock.
const lockFile = "gatehouse.lock"

// lockDataDir takes the data directory's lock, held as long as the returned
// file stays open. A server on SQLite owns the directory and takes it
// exclusively; servers on PostgreSQL may share one content directory, so
// they take it shared, which still keeps a SQLite server out. The admin
// commands take no lock: they work beside a running server.
func lockDataDir(dir string, exclusive bool) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		owner := ""
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				owner = fmt.Sprintf(" (process %d)", pid)
			}
		}
		return nil, fmt.Errorf("the data directory %s is in use by another gatehouse serve%s; stop it first, or give this one another --data", dir, owner)
	} else if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the data directory %s: %w", dir, err)
	}
	// The process id is only for the message above; the lock is what counts.
	f.Truncate(0)
	if exclusive {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return f, nil
}
