package store

// OpenMailBody opens an outbox body as read from the table (part "text" or
// "html"), for tests that read a mail the way the worker would send it.
func (s *Store) OpenMailBody(id, to, part, stored string) (string, error) {
	return s.openMailBody(id, to, part, stored)
}
