package store

import (
	"context"
	"strings"
)

// ReferencedBlobs reports which of the content keys an item or a version
// uses, in one indexed query, for the sweep of orphaned content.
func (s *Store) ReferencedBlobs(ctx context.Context, keys []string) (map[string]bool, error) {
	refs := make(map[string]bool, len(keys))
	if len(keys) == 0 {
		return refs, nil
	}
	// The list length varies, so the text is not worth a cached statement.
	in := "?" + strings.Repeat(", ?", len(keys)-1)
	args := make([]any, 0, 2*len(keys))
	for range 2 {
		for _, k := range keys {
			args = append(args, k)
		}
	}
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT blob_key FROM items WHERE blob_key IN (`+in+`)
		UNION SELECT blob_key FROM item_versions WHERE blob_key IN (`+in+`)`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		refs[k] = true
	}
	return refs, rows.Err()
}
