package store_test

import (
	"fmt"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// BenchmarkRecycleBin prices what the recycle bin adds, against a baseline
// in the same run:
//   - a folder page of 200 of 10,000 files with 40 shared items in the
//     drive: Children (the page itself) against LosingAccessIn (the delete
//     confirm's count for the page), reported as losing/children;
//   - a folder of 2,000 files with 40 links: DeleteItem (to the bin: one
//     update and the links made dormant) against PurgeItem of the same
//     folder (the permanent delete it replaces), reported as bin/purge.
func BenchmarkRecycleBin(b *testing.B) {
	for _, be := range testenv.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			_, by, d := e.member("ann@example.com")
			big := e.folder(by, d, d.RootID, "Big")
			fill := func(parent string, n int, prefix string) []string {
				ids := make([]string, n)
				for i := range n {
					ids[i] = gatehouse.NewID()
					name := fmt.Sprintf("%s%05d.txt", prefix, i)
					e.exec(`INSERT INTO items (id, drive_id, parent_id, name, name_key, is_folder, size, sha256, blob_key, mime_type, created_at, modified_at, created_by, modified_by)
						VALUES (?, ?, ?, ?, ?, ?, 1, '', ?, 'text/plain', 1, 1, 'x', 'x')`, ids[i], d.ID, parent, name, gatehouse.NameKey(name), false, "k"+ids[i])
				}
				return ids
			}
			ids := fill(big.ID, 10_000, "f")
			for i := range 40 {
				if _, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: ids[i*250], Role: gatehouse.RoleRead,
					Emails: []string{fmt.Sprintf("p%d@partner.test", i), "all@partner.test"}}); err != nil {
					b.Fatal(err)
				}
			}
			var children, losing time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				page, _, err := e.Children(ctx, d.ID, big.ID, nil, 200)
				t1 := time.Now()
				if err != nil || len(page) != 200 {
					b.Fatalf("Children: %d, %v", len(page), err)
				}
				pids := make([]string, len(page))
				for i, it := range page {
					pids[i] = it.ID
				}
				got, err := e.LosingAccessIn(ctx, d.ID, pids)
				t2 := time.Now()
				if err != nil || got[ids[0]] != 2 {
					b.Fatalf("LosingAccessIn: %v, %v", got[ids[0]], err)
				}
				children, losing = children+t1.Sub(t0), losing+t2.Sub(t1)
			}
			b.StopTimer()
			b.ReportMetric(float64(children.Microseconds())/float64(b.N), "children-µs/page")
			b.ReportMetric(float64(losing.Microseconds())/float64(b.N), "losing-µs/page")
			b.ReportMetric(float64(losing)/float64(children), "losing/children")

			// Delete to the bin against the permanent delete, once each on
			// the same folder of 2,000 files with 40 links.
			f := e.folder(by, d, d.RootID, "ToDelete")
			fids := fill(f.ID, 2_000, "d")
			for i := range 40 {
				if _, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: fids[i*50], Role: gatehouse.RoleRead,
					Emails: []string{"q@partner.test"}}); err != nil {
					b.Fatal(err)
				}
			}
			t0 := time.Now()
			if err := e.DeleteItem(ctx, by, d.ID, f.ID); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := e.PurgeItem(ctx, by, d.ID, f.ID); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			b.ReportMetric(float64(t1.Sub(t0).Microseconds()), "bin-µs")
			b.ReportMetric(float64(t2.Sub(t1).Microseconds()), "purge-µs")
			b.ReportMetric(float64(t1.Sub(t0))/float64(t2.Sub(t1)), "bin/purge")
		})
	}
}
