package content

import (
	"errors"
	"io"
	"net/http"

	"gatehouse"
	"gatehouse/internal/store"
)

// Previewable reports how a page may show a file (gatehouse.PreviewImage,
// PreviewPDF or PreviewText), deciding as Preview does from its name and
// first bytes; "" when it has no preview, and then Preview refuses it too.
func Previewable(s *store.Store, it *gatehouse.Item) (string, error) {
	if it.IsFolder || gatehouse.PreviewKind(it.Name) == "" {
		return "", nil
	}
	f, err := s.OpenContent(it)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	_, kind, _ := gatehouse.PreviewType(it.Name, http.DetectContentType(head[:n]))
	return kind, nil
}
