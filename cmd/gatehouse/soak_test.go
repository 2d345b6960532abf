package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// soakTree is what the soak's workers know of the tree; it goes stale as
// they race, which is the point.
type soakTree struct {
	mu      sync.Mutex
	folders []string // the root first
	files   []string
	deleted map[string]bool // ids whose DELETE answered 204
	bodies  map[string]bool // every upload body that was acknowledged
	ok      map[string]int  // 2xx answers per operation
	status  map[string]map[int]int
	errs    []string
	seq     int
}

func (st *soakTree) pick(rng *rand.Rand, folders, files bool) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var pool []string
	if folders {
		pool = append(pool, st.folders[1:]...)
	}
	if files {
		pool = append(pool, st.files...)
	}
	if len(pool) == 0 {
		return st.folders[0]
	}
	return pool[rng.IntN(len(pool))]
}

func (st *soakTree) folder(rng *rand.Rand) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.folders[rng.IntN(len(st.folders))]
}

// gone drops an id that answered 404 or was deleted; ids are never reused.
func (st *soakTree) gone(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if id == st.folders[0] {
		return
	}
	st.folders = slices.DeleteFunc(st.folders, func(s string) bool { return s == id })
	st.files = slices.DeleteFunc(st.files, func(s string) bool { return s == id })
}

func (st *soakTree) next() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seq++
	return st.seq
}

// TestConcurrencySoak runs 200 rounds of delete, rename, move, share and
// upload (with some folder creation) on one tree from several clients, then
// checks that nothing answered 5xx, every acknowledged write has its record,
// the audit chain verifies, and the tree is whole.
func TestConcurrencySoak(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			st := &soakTree{folders: []string{r.root}, deleted: map[string]bool{}, bodies: map[string]bool{"seed": true},
				ok: map[string]int{}, status: map[string]map[int]int{}}
			for i := range 4 {
				f := r.folder(r.root, fmt.Sprintf("top%d", i))
				st.folders = append(st.folders, f)
				for j := range 2 {
					st.files = append(st.files, r.file(f, fmt.Sprintf("seed%d.bin", j), "seed"))
				}
			}
			before := r.opCounts()

			const rounds, workers = 200, 6
			kinds := []string{"delete", "rename", "move", "share", "upload"}
			work := make(chan string)
			seed := uint64(time.Now().UnixNano())
			t.Logf("soak seed %d", seed)
			go func() {
				rng := rand.New(rand.NewPCG(seed, 0))
				for range rounds {
					for _, i := range rng.Perm(len(kinds)) {
						work <- kinds[i]
					}
				}
				close(work)
			}()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(seed, uint64(w+1)))
					for kind := range work {
						r.soakOp(st, rng, kind)
					}
				})
			}
			wg.Wait()

			for _, e := range st.errs[:min(len(st.errs), 10)] {
				t.Errorf("soak: %s", e)
			}
			if len(st.errs) > 10 {
				t.Errorf("soak: %d server errors in all", len(st.errs))
			}
			t.Logf("soak answers: %v", st.status)
			r.verifyAudit()

			// Every acknowledged write has its record, and no more.
			after := r.opCounts()
			delta := func(ops ...string) int {
				n := 0
				for _, op := range ops {
					n += after[op] - before[op]
				}
				return n
			}
			for _, c := range []struct {
				kind string
				ops  []string
			}{
				{"upload", []string{gatehouse.OpFileUploaded, gatehouse.OpFileModified}},
				{"mkdir", []string{gatehouse.OpFolderCreated}},
				{"rename", []string{gatehouse.OpFileRenamed, gatehouse.OpFolderRenamed}},
				{"delete", []string{gatehouse.OpFileDeleted, gatehouse.OpFolderDeleted}},
				{"share", []string{gatehouse.OpAddedToSecureLink}},
			} {
				if got := delta(c.ops...); got != st.ok[c.kind] {
					t.Errorf("%d %s answers were acknowledged, but the audit log has %d %v records for them", st.ok[c.kind], c.kind, got, c.ops)
				}
			}
			r.checkTree(st)
		})
	}
}

// soakOp sends one operation of the kind on a random target.
func (r *racer) soakOp(st *soakTree, rng *rand.Rand, kind string) {
	n := st.next()
	var res result
	switch kind {
	case "upload":
		if rng.IntN(4) == 0 {
			kind = "mkdir"
			parent := st.folder(rng)
			res = r.do(r.token, "POST", r.items()+parent+"/children", map[string]any{"name": fmt.Sprintf("d%d", n), "folder": map[string]any{}})
			if res.status == 404 {
				st.gone(parent)
			}
			break
		}
		body := fmt.Sprintf("soak upload %d", n)
		parent := st.folder(rng)
		res = r.do(r.token, "PUT", r.items()+parent+":/"+fmt.Sprintf("f%d.bin", rng.IntN(6))+":/content", body)
		if res.status == 404 {
			st.gone(parent)
		}
		if res.status/100 == 2 {
			st.mu.Lock()
			st.bodies[body] = true
			st.mu.Unlock()
		}
	case "rename":
		folder := rng.IntN(3) == 0
		name := fmt.Sprintf("r%d.bin", n)
		if folder {
			name = fmt.Sprintf("d%d", n)
		}
		id := st.pick(rng, folder, !folder)
		res = r.do(r.token, "PATCH", r.items()+id, map[string]any{"name": name})
		if res.status == 404 {
			st.gone(id)
		}
	case "move":
		res = r.do(r.token, "PATCH", r.items()+st.pick(rng, true, true), map[string]any{"parentReference": map[string]any{"id": st.folder(rng)}})
	case "share":
		id := st.pick(rng, true, true)
		res = r.do(r.token, "POST", r.items()+id+"/invite", map[string]any{
			"recipients": []any{map[string]any{"email": fmt.Sprintf("s%d@partner.test", n)}}, "roles": []string{"read"}, "sendInvitation": false})
		if res.status == 404 {
			st.gone(id)
		}
	case "delete":
		id := st.pick(rng, rng.IntN(4) == 0, true)
		res = r.do(r.token, "DELETE", r.items()+id, nil)
		if res.status == 404 {
			st.gone(id)
		}
		if res.status == 204 {
			st.mu.Lock()
			st.deleted[id] = true
			st.mu.Unlock()
			st.gone(id) // what was inside stays until a 404 says so: stale targets are part of the race
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.status[kind] == nil {
		st.status[kind] = map[int]int{}
	}
	st.status[kind][res.status]++
	if res.err != nil || res.status >= 500 {
		st.errs = append(st.errs, kind+": "+res.String())
	}
	if res.status/100 != 2 {
		return
	}
	st.ok[kind]++
	if res.status == 201 {
		id, _ := res.decode()["id"].(string)
		if kind == "mkdir" {
			st.folders = append(st.folders, id)
		} else {
			st.files = append(st.files, id)
		}
	}
}

// opCounts counts audit records by operation.
func (r *racer) opCounts() map[string]int {
	r.t.Helper()
	out := map[string]int{}
	for _, row := range r.query(`SELECT operation, COUNT(*) FROM audit_records GROUP BY operation`) {
		out[row[0]], _ = strconv.Atoi(row[1])
	}
	return out
}

// checkTree asserts that the tree is whole: every item hangs under its
// drive's root through folders of the same drive, nothing refers to a
// missing item, acknowledged deletions stand, version numbers are unique,
// and every file holds readable content that some acknowledged upload sent.
func (r *racer) checkTree(st *soakTree) {
	t := r.t
	t.Helper()
	type node struct {
		parent, drive string
		folder        bool
		binned        bool // at the top of the recycle bin
	}
	tree := map[string]node{}
	for _, row := range r.query(`SELECT id, COALESCE(parent_id, ''), drive_id, is_folder, deleted_at > 0 FROM items`) {
		tree[row[0]] = node{parent: row[1], drive: row[2], folder: row[3] == "true" || row[3] == "1", binned: row[4] == "true" || row[4] == "1"}
	}
	for id, n := range tree {
		seen, inBin := 0, false
		for cur, curID := n, id; cur.parent != ""; seen++ {
			// The top of the recycle bin hangs under 'recycled/' and its
			// own id; what is under it is in the bin with it.
			if cur.binned && cur.parent == "recycled/"+curID {
				inBin = true
				break
			}
			p, ok := tree[cur.parent]
			switch {
			case !ok:
				t.Errorf("item %s hangs under %s, which does not exist", id, cur.parent)
			case !p.folder || p.drive != n.drive:
				t.Errorf("item %s hangs under %s, which is not a folder of its drive", id, cur.parent)
			case seen > len(tree):
				t.Errorf("item %s is in a cycle", id)
			default:
				cur, curID = p, cur.parent
				continue
			}
			break
		}
		if st.deleted[id] && !inBin {
			t.Errorf("item %s is still in the tree after its deletion was acknowledged", id)
		}
	}
	for what, q := range map[string]string{
		"versions of missing items":               `SELECT COUNT(*) FROM item_versions WHERE item_id NOT IN (SELECT id FROM items)`,
		"links on missing items":                  `SELECT COUNT(*) FROM links WHERE item_id NOT IN (SELECT id FROM items)`,
		"recipients of missing links":             `SELECT COUNT(*) FROM link_recipients WHERE link_id NOT IN (SELECT id FROM links)`,
		"repeated version numbers":                `SELECT COUNT(*) FROM (SELECT item_id, version FROM item_versions GROUP BY item_id, version HAVING COUNT(*) > 1) d`,
		"versions not older than the current one": `SELECT COUNT(*) FROM item_versions v JOIN items i ON i.id = v.item_id WHERE v.version >= i.version`,
	} {
		if n := r.count(q); n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}
	for _, row := range r.query(`SELECT id, blob_key FROM items WHERE NOT is_folder`) {
		c, err := r.blob(row[1])
		if err != nil {
			t.Errorf("file %s: content unreadable: %v", row[0], err)
		} else if !st.bodies[c] {
			t.Errorf("file %s holds %q, which no acknowledged upload sent", row[0], c)
		}
	}
	for _, row := range r.query(`SELECT item_id, blob_key FROM item_versions`) {
		if _, err := r.blob(row[1]); err != nil {
			t.Errorf("a version of %s: content unreadable: %v", row[0], err)
		}
	}
}
