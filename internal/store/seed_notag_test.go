//go:build !seed

package store

import (
	"context"

	"gatehouse"
)

// SeedAudit is seed.go's method for the store's own tests when built
// without -tags seed, so that they can fill a log quickly while the
// production package has no way to append synthetic records. Keep the two
// alike; with -tags seed the tests run against seed.go itself.
func (s *Store) SeedAudit(ctx context.Context, n int, gen func(i int, r *gatehouse.Record)) error {
	const batch = 5000
	for done := 0; done < n; {
		tx, err := s.begin(ctx)
		if err != nil {
			return err
		}
		for i := 0; i < batch && done < n; i, done = i+1, done+1 {
			r := &gatehouse.Record{}
			gen(done, r)
			if err := tx.audit(r); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
