package content

import (
	"archive/zip"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// Bounds of a folder download.
const (
	// archivePage is how many children one query lists: the walk holds one
	// page per level of the tree, never the whole folder.
	archivePage = 500
	// archiveListMax and archiveListBytes bound the file list kept in the
	// download's record; the count is always whole.
	archiveListMax   = 1000
	archiveListBytes = 128 << 10
	// archiveDepth bounds the walk, as the store bounds ancestry.
	archiveDepth = 1000
)

// copyBufs are the buffers file content is copied through: large, so a
// file goes out in few writes, and pooled, so memory stays flat.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Archive streams a folder and everything in it as a zip, straight to the
// client: files are read one at a time through a fixed buffer, and the tree
// is listed a page at a time. Paths in the zip are relative to the folder.
// Files are stored as they are, text deflated. The download is recorded
// once, before the first byte, as FileDownloaded of the folder with the
// number of files and (at most 1,000 of) their paths.
//
// The record must commit before content leaves, so the tree is walked
// twice: the first walk takes a snapshot (each item's id, version and
// path) that the record describes, and the zip holds exactly the
// snapshot's items, each at its path and version then. Whatever changed in
// between is reconciled with the snapshot rather than slipped in: an item
// added meanwhile is left out, one deleted or moved out of the folder is
// skipped, a file replaced meanwhile goes out as the version the record
// counted.
func Archive(w http.ResponseWriter, r *http.Request, s *store.Store, by gatehouse.Actor, folder *gatehouse.Item) error {
	if !folder.IsFolder {
		return gatehouse.Errorf(gatehouse.EINVALID, "“%s” is a file; download it as it is.", folder.Name)
	}
	ctx := r.Context()
	hd := w.Header()
	var snap snapshot
	if r.Method != http.MethodHead {
		var err error
		if snap, err = takeSnapshot(ctx, s, folder); err != nil {
			return err
		}
		data := map[string]any{"archive": "zip", "fileCount": snap.files, "size": snap.size, "files": snap.listed}
		if len(snap.listed) < snap.files {
			data["filesListed"] = len(snap.listed)
		}
		if err := s.RecordAccessData(ctx, by, gatehouse.OpFileDownloaded, folder, data); err != nil {
			return err
		}
		if afterRecord != nil {
			afterRecord()
		}
	}
	hd.Set("Content-Type", "application/zip")
	name := folder.Name
	if folder.ParentID == "" {
		name = "files" // a drive's root is called "root" inside
	}
	hd.Set("Content-Disposition", httpx.ContentDisposition(name+".zip"))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Cache-Control", "private, no-store")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	if err := writeZip(ctx, w, s, folder, snap); err != nil {
		// The status is sent: cut the connection, so the client sees a
		// broken download rather than a short zip that looks whole.
		if ctx.Err() == nil {
			slog.Error("zip a folder", "item", folder.ID, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

// afterRecord, when set by a test, runs between the record and the
// stream: the window in which the folder may change.
var afterRecord func()

// archiveMaxItems bounds the items (files and folders) of one zip: the
// snapshot is held in memory, at about 150 bytes an item, so this keeps
// it near 15 MiB.
const archiveMaxItems = 100_000

// snapped is an item as the snapshot took it: its path in the zip, and
// for a file the version the record counted and its size then.
type snapped struct {
	rel     string
	version int
	size    int64
}

// snapshot is what the record of a zip describes: the items by id, the
// number and total size of the files, and the paths the record lists.
type snapshot struct {
	items  map[string]snapped
	files  int
	size   int64
	listed []string
}

// takeSnapshot walks folder once for the record.
func takeSnapshot(ctx context.Context, s *store.Store, folder *gatehouse.Item) (snapshot, error) {
	snap := snapshot{items: map[string]snapped{}}
	listBytes := 0
	err := walk(ctx, s, folder, "", 0, func(rel string, it *gatehouse.Item) error {
		if len(snap.items) >= archiveMaxItems {
			return gatehouse.Errorf(gatehouse.EINVALID, "“%s” holds more than %d files and folders, too many to download at once; download its folders one at a time.",
				folder.Name, archiveMaxItems)
		}
		snap.items[it.ID] = snapped{rel: rel, version: it.Version, size: it.Size}
		if it.IsFolder {
			return nil
		}
		snap.files++
		snap.size += it.Size
		if len(snap.listed) < archiveListMax && listBytes+len(rel) <= archiveListBytes {
			snap.listed = append(snap.listed, rel)
			listBytes += len(rel)
		}
		return nil
	})
	return snap, err
}

// writeZip writes the zip of the snapshot's items that are still in
// folder to w, walking it again: each at its snapshot path and version.
func writeZip(ctx context.Context, w io.Writer, s *store.Store, folder *gatehouse.Item, snap snapshot) error {
	zw := zip.NewWriter(w)
	// Entries are written one after another, so one compressor serves
	// them all: a new one per file would be garbage of half a megabyte.
	var fw *flate.Writer
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		if fw == nil {
			var err error
			fw, err = flate.NewWriter(out, flate.BestSpeed)
			return fw, err
		}
		fw.Reset(out)
		return fw, nil
	})
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	err := walk(ctx, s, folder, "", 0, func(_ string, it *gatehouse.Item) error {
		was, ok := snap.items[it.ID]
		if !ok {
			return nil // added meanwhile: the record does not count it
		}
		fh := &zip.FileHeader{Name: was.rel, Modified: it.ModifiedAt.UTC(), Method: zip.Store}
		if it.IsFolder {
			fh.Name += "/" // kept, so empty folders come out too
			_, err := zw.CreateHeader(fh)
			return err
		}
		f, err := openSnapped(ctx, s, it, was)
		if err != nil || f == nil {
			return err
		}
		defer f.Close()
		if deflated(was.rel) {
			fh.Method = zip.Deflate
		}
		fh.SetMode(0o644)
		ew, err := zw.CreateHeader(fh)
		if err != nil {
			return err
		}
		n, err := io.CopyBuffer(onlyWriter{ew}, onlyReader{f}, *bp)
		if err == nil && n != was.size {
			err = fmt.Errorf("content of %s version %d: %d bytes, want %d", it.ID, was.version, n, was.size)
		}
		return err
	})
	if err != nil {
		return err
	}
	return zw.Close()
}

// openSnapped opens the content of a file at its snapshot version, which
// is its current one unless it was replaced meanwhile. It returns nil
// when that version is gone (restored over, or the file purged).
func openSnapped(ctx context.Context, s *store.Store, it *gatehouse.Item, was snapped) (io.ReadCloser, error) {
	key := it.BlobKey
	if it.Version != was.version {
		v, err := s.Version(ctx, it, was.version)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		key = v.BlobKey
	}
	f, err := s.OpenContent(&gatehouse.Item{ID: it.ID, BlobKey: key})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // purged between the listing and the open
	} else if err != nil {
		return nil, fmt.Errorf("open content of %s: %w", it.ID, err)
	}
	return f, nil
}

// onlyWriter and onlyReader hide ReadFrom and WriteTo, so io.CopyBuffer
// uses the pooled buffer rather than a small one of its own.
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }

// walk calls fn for every item under folder, depth first, each folder
// before what it holds, with its path relative to folder.
func walk(ctx context.Context, s *store.Store, folder *gatehouse.Item, rel string, depth int, fn func(rel string, it *gatehouse.Item) error) error {
	if depth > archiveDepth {
		return gatehouse.Errorf(gatehouse.EINVALID, "The folder is nested too deeply to download at once.")
	}
	var after *store.ChildCursor
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		items, next, err := s.Children(ctx, folder.DriveID, folder.ID, after, archivePage)
		if err != nil {
			return err
		}
		for _, it := range items {
			p, ok := zipPath(rel, it.Name)
			if !ok {
				continue // a name no zip path can carry is left out, never written outside
			}
			if err := fn(p, it); err != nil {
				return err
			}
			if it.IsFolder {
				if err := walk(ctx, s, it, p, depth+1, fn); err != nil {
					return err
				}
			}
		}
		if next == nil {
			return nil
		}
		after = next
	}
}

// zipPath joins a name to a relative path for the zip: never absolute,
// never climbing out with "..", whatever the name holds.
func zipPath(rel, name string) (string, bool) {
	name = strings.ReplaceAll(name, `\`, "_")
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return "", false
	}
	p := path.Clean(path.Join(rel, name))
	if p == "." || strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// deflatedExts are the files worth compressing: text. Everything else is
// stored, since media and documents are compressed already and deflating
// them costs time for nothing.
var deflatedExts = map[string]bool{".txt": true, ".text": true, ".log": true, ".md": true, ".csv": true, ".tsv": true,
	".json": true, ".xml": true, ".html": true, ".htm": true, ".css": true, ".js": true, ".svg": true, ".yaml": true,
	".yml": true, ".sql": true, ".ini": true, ".conf": true}

func deflated(name string) bool { return deflatedExts[strings.ToLower(path.Ext(name))] }
