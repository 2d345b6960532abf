//go:build !seed

package main

import (
	"reflect"
	"testing"

	"gatehouse/internal/store"
)

// The synthetic audit seeder is built only with -tags seed: the
// production binary can neither run it nor link it.
func TestNoAuditSeeder(t *testing.T) {
	if _, ok := reflect.TypeFor[*store.Store]().MethodByName("SeedAudit"); ok {
		t.Error("store.Store has SeedAudit without -tags seed")
	}
	if _, _, err := stdio("", "dev", "seed-audit", "--count", "1"); exitCode(err) != 2 {
		t.Errorf("gatehouse dev seed-audit: %v, want an unknown command", err)
	}
}
