package gatehouse

// Defaults of the deployment's settings. Each is set here and nowhere
// else; the command line's flags start from these.
const (
	// DefaultMailFrom is the sender of every mail.
	DefaultMailFrom = "Gatehouse <gatehouse@localhost>"
	// DefaultMaxUploadMiB is the largest upload, in MiB.
	DefaultMaxUploadMiB = 10240
)
