package store

import (
	"context"

	"gatehouse"
)

// seedAudit appends n generated records in batches; they are real chain
// members. Only SeedAudit (built with -tags seed) and the store's own tests
// call it, so the linker leaves it out of the gatehouse binary.
func (s *Store) seedAudit(ctx context.Context, n int, gen func(i int, r *gatehouse.Record)) error {
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
