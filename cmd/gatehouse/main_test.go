package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// server is a Gatehouse started in-process on :0 for one test.
type server struct {
	*Main
	t testing.TB
}

// startServer starts Gatehouse on the backend with a fresh data directory.
// Options adjust the configuration first.
func startServer(t testing.TB, b testenv.Backend, opts ...func(*Config)) *server {
	t.Helper()
	dir := t.TempDir()
	m := &Main{
		Config: Config{Listen: "127.0.0.1:0", Data: dir, Database: b.DSN(t, dir), OrgDomains: []string{"example.com"}},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&m.Config)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("start gatehouse: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return &server{Main: m, t: t}
}

// addUser creates a member with a password and returns it.
func (s *server) addUser(email, name, password string, admin bool) *gatehouse.User {
	s.t.Helper()
	u, err := s.Store.CreateUser(context.Background(), gatehouse.SystemActor(),
		store.NewUser{Email: email, DisplayName: name, Password: password, IsAdmin: admin})
	if err != nil {
		s.t.Fatalf("add user %s: %v", email, err)
	}
	return u
}

// token issues a bearer token for u.
func (s *server) token(u *gatehouse.User) string {
	s.t.Helper()
	_, secret, err := s.Store.CreateToken(context.Background(), u.ID, "test")
	if err != nil {
		s.t.Fatalf("create token: %v", err)
	}
	return secret
}
