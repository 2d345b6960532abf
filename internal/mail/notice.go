package mail

import (
	"errors"
	"time"
)

// What a notice to an owner reports.
const (
	NoticeOpened   = "opened"
	NoticeUploaded = "uploaded"
	NoticeReplaced = "replaced"
)

// Notice tells an owner what a recipient did through a link: opened it for
// the first time, or uploaded or replaced a file.
type Notice struct {
	Action    string // NoticeOpened, NoticeUploaded or NoticeReplaced
	Recipient string // the recipient's address
	ItemName  string // the shared item
	FileName  string // the file uploaded or replaced, for those actions
	ItemURL   string // the owner's page of the shared item
	At        time.Time
}

type noticeView struct {
	Subject, Action, Recipient, ItemName, FileName, ItemURL, At string
}

// RenderNotice renders the mail that tells an owner about a recipient's
// first open or upload.
func RenderNotice(n Notice) (subject, text, html string, err error) {
	v := noticeView{Action: n.Action, Recipient: oneLine(n.Recipient), ItemName: oneLine(n.ItemName),
		FileName: oneLine(n.FileName), ItemURL: oneLine(n.ItemURL), At: n.At.UTC().Format("Monday 2 January 2006 at 15:04 UTC")}
	if v.Recipient == "" || v.ItemName == "" {
		return "", "", "", errors.New("mail: the notice has no recipient or item")
	}
	item := truncate(v.ItemName, maxSubjectItem)
	switch n.Action {
	case NoticeOpened:
		v.Subject = v.Recipient + ` opened "` + item + `"`
	case NoticeUploaded:
		v.Subject = v.Recipient + ` uploaded "` + truncate(v.FileName, maxSubjectItem) + `" to "` + item + `"`
	case NoticeReplaced:
		v.Subject = v.Recipient + ` replaced "` + truncate(v.FileName, maxSubjectItem) + `"`
	default:
		return "", "", "", errors.New("mail: unknown notice action")
	}
	text, html, err = render("notice", v)
	return v.Subject, text, html, err
}
