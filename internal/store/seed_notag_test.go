//go:build !seed

package store

import (
	"context"

	"gatehouse"
)

// SeedAudit is seed.go's method for the store's own tests when built
// without -tags seed, so that they can fill a log quickly while the
// production package exports no way to append synthetic records; with
// -tags seed the tests use seed.go's.
func (s *Store) SeedAudit(ctx context.Context, n int, gen func(i int, r *gatehouse.Record)) error {
	return s.seedAudit(ctx, n, gen)
}
