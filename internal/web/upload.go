package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"

	"gatehouse"
	"gatehouse/internal/httpx"
)

// errNotMultipart stands for a body that is no multipart form at all.
var errNotMultipart = errors.New("not a multipart form")

// failingReader fails every read with err.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// streamCSRF reads the first part of a streamed multipart form and checks
// that it is the CSRF token, unless the X-CSRF-Token header already holds
// it (app.js). It returns the reader positioned after the token. The reader
// is never nil when ok: a header-authorized body that is not multipart gets
// a reader whose NextPart fails with errNotMultipart, so callers meet it
// where they meet every other broken stream, in uploadOutcome.
func streamCSRF(r *http.Request) (mr *multipart.Reader, ok bool) {
	headerOK := r.Header.Get(httpx.CSRFHeader) != "" && httpx.CSRFValid(r, r.Header.Get(httpx.CSRFHeader))
	mr, err := r.MultipartReader()
	if err != nil {
		if !headerOK {
			return nil, false
		}
		return multipart.NewReader(failingReader{errNotMultipart}, "not-multipart"), true
	}
	if headerOK {
		return mr, true
	}
	p, err := mr.NextPart()
	if err != nil || p.FormName() != httpx.CSRFField {
		return nil, false
	}
	tok, _ := io.ReadAll(io.LimitReader(p, 256))
	return mr, httpx.CSRFValid(r, string(tok))
}

// uploadOutcome turns how an upload's stream ended (readErr, io.EOF when
// complete) and the first store error into the error to show, nil on
// success. Files that did arrive before a failure are named in it.
func uploadOutcome(r *http.Request, readErr, storeErr error, names []string, max int64, none string) error {
	var mbe *http.MaxBytesError
	var err error
	switch {
	case storeErr != nil:
		err = storeErr
	case errors.Is(readErr, io.EOF):
		if len(names) == 0 {
			err = gatehouse.Errorf(gatehouse.EINVALID, "%s", none)
		}
	case errors.Is(readErr, errNotMultipart):
		err = gatehouse.Errorf(gatehouse.EINVALID, "The upload must be sent as a form with Content-Type multipart/form-data.")
	case errors.As(readErr, &mbe):
		err = gatehouse.Errorf(gatehouse.ETOOLARGE, "The upload is larger than the limit of %d MiB.", max>>20)
	default:
		// A broken multipart stream is the client's doing, not ours.
		err = gatehouse.Errorf(gatehouse.EINVALID, "The upload was cut off or is not a valid form. Please try again.")
	}
	if err != nil && len(names) > 0 {
		httpx.LogError(r, err) // the original, before it is reworded
		err = gatehouse.Errorf(gatehouse.ErrorCode(err), "%s %s", uploadedMessage(names), gatehouse.ErrorMessage(err))
	}
	return err
}
