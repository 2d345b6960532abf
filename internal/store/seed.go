//go:build seed

package store

import (
	"context"
	"fmt"
	"time"

	"gatehouse"
)

// This file builds only with -tags seed (bench/seed-audit and the audit
// search benchmark): synthetic, back-dated records must never be appendable
// from the production binary, since the chain would vouch for them.

// SeedAudit appends n synthetic records in batches, for benchmarks of search
// over a large log. Records are real chain members.
func (s *Store) SeedAudit(ctx context.Context, n int, gen func(i int, r *gatehouse.Record)) error {
	return s.seedAudit(ctx, n, gen)
}

// seedOps are the operations seeded records cycle through.
var seedOps = []string{gatehouse.OpFileAccessed, gatehouse.OpFileDownloaded, gatehouse.OpFileUploaded, gatehouse.OpFileModified,
	gatehouse.OpUserLoggedIn, gatehouse.OpFolderCreated, gatehouse.OpFileRenamed, gatehouse.OpFileDeleted,
	gatehouse.OpSecureLinkUsed, gatehouse.OpPasscodeSent, gatehouse.OpPasscodeVerified, gatehouse.OpAddedToSecureLink}

// SeedRecord returns a generator for SeedAudit of n records spread evenly
// from start over span.
func SeedRecord(n int, start time.Time, span time.Duration) func(i int, r *gatehouse.Record) {
	step := span / time.Duration(max(n, 1))
	return func(i int, r *gatehouse.Record) {
		r.CreationTime = start.Add(time.Duration(i) * step)
		r.Operation = seedOps[i%len(seedOps)]
		r.UserID = fmt.Sprintf("user%d@example.com", i%500)
		r.UserType = gatehouse.UserTypeMember
		r.ClientIP = fmt.Sprintf("10.0.%d.%d", i%250, i%200)
		r.UserAgent = "seed"
		r.ObjectID = fmt.Sprintf("https://gatehouse.example/v1.0/drives/d%d/items/i%d", i%500, i%20000)
		r.ItemType = "File"
		r.SourceFileName = fmt.Sprintf("file-%d.txt", i%20000)
		r.SourceRelativeURL = "/"
	}
}
