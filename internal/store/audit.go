package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gatehouse"
)

const auditColumns = `seq, id, creation_time, operation, user_id, user_type, client_ip, user_agent,
	object_id, item_type, source_file_name, source_relative_url, target_user_or_group_name,
	target_user_or_group_type, unique_sharing_id, event_data, result_status, prev_hash, hash`

// audit queues r to be appended to the chain when tx commits. The chain
// head is locked only in Commit, after every other lock the transaction
// takes, so writers cannot deadlock on it and hold it briefly.
func (tx *Tx) audit(r *gatehouse.Record) error {
	prepareRecord(r, tx.now)
	tx.records = append(tx.records, r)
	return nil
}

// prepareRecord gives r its id, time and status as of now.
func prepareRecord(r *gatehouse.Record, now time.Time) {
	r.ID = gatehouse.NewUUID()
	if r.CreationTime.IsZero() { // only the seeder sets its own times
		r.CreationTime = now
	}
	r.CreationTime = r.CreationTime.UTC().Truncate(time.Microsecond)
	if r.ResultStatus == "" {
		r.ResultStatus = "Succeeded"
	}
	r.Clamp()
}

// Commit appends the transaction's records to the chain and commits. The
// head row is locked here, last, so the change and its records commit
// together and the chain stays in one order across nodes. Every commit but
// the access writer's, mail delivery's, a link code request's and a passcode
// verification's raises the access epoch in the same statement (see
// view.go): access records, the outbox, codes and their tries are no fact a
// decision reads.
func (tx *Tx) Commit() error {
	if len(tx.records) == 0 && tx.keepEpoch {
		return tx.commitEpoch()
	}
	if len(tx.records) == 0 {
		if err := tx.queryRow(`UPDATE audit_head SET epoch = epoch + 1 WHERE id = 1 RETURNING seq, hash, epoch`).Scan(&tx.headSeq, &tx.headHash, &tx.epoch); err != nil {
			return fmt.Errorf("raise access epoch: %w", err)
		}
		tx.headRead = true
		return tx.commitEpoch()
	}
	if tx.s.postgres && !tx.headRead {
		if ok, err := tx.appendGuessed(); err != nil {
			return fmt.Errorf("append audit records: %w", err)
		} else if ok {
			return tx.commitEpoch()
		}
	}
	seq, hash, epoch, err := tx.head()
	if err != nil {
		return err
	}
	if !tx.keepEpoch {
		epoch++
	}
	seq, hash = tx.s.chain(tx.records, seq, hash)
	tx.headSeq, tx.headHash, tx.epoch = seq, hash, epoch
	if tx.s.postgres {
		if err := tx.appendRecordsPostgres(tx.records, seq, hash, epoch); err != nil {
			return fmt.Errorf("append audit records: %w", err)
		}
	} else {
		// SQLite runs in-process: a statement per record costs no
		// round trip, and multi-row INSERTs measured no cheaper there.
		// One statement handle for the batch: tx.stmt per record cost a
		// cache lookup and a new transaction-bound Stmt each time.
		ins, err := tx.stmt(insertRecordSQL)
		if err != nil {
			return fmt.Errorf("append audit record: %w", err)
		}
		for _, r := range tx.records {
			if _, err := ins.ExecContext(tx.ctx, r.Seq, r.ID, micros(r.CreationTime), r.Operation, r.UserID, r.UserType, r.ClientIP, r.UserAgent,
				r.ObjectID, r.ItemType, r.SourceFileName, r.SourceRelativeURL, r.TargetUserOrGroupName,
				r.TargetUserOrGroupType, r.UniqueSharingID, r.EventData, r.ResultStatus, r.PrevHash, r.Hash); err != nil {
				return fmt.Errorf("append audit record: %w", err)
			}
		}
		if _, err := tx.exec(`UPDATE audit_head SET seq = ?, hash = ?, epoch = ? WHERE id = 1`, seq, hash, epoch); err != nil {
			return fmt.Errorf("advance audit head: %w", err)
		}
	}
	return tx.commitEpoch()
}

// head reads the chain head and the access epoch, locking the row on
// PostgreSQL (SQLite's write transactions begin IMMEDIATE), once per
// transaction.
func (tx *Tx) head() (seq int64, hash string, epoch int64, err error) {
	if !tx.headRead {
		q := `SELECT seq, hash, epoch FROM audit_head WHERE id = 1`
		if tx.s.postgres {
			q += ` FOR UPDATE`
		}
		if err := tx.queryRow(q).Scan(&tx.headSeq, &tx.headHash, &tx.epoch); err != nil {
			return 0, "", 0, fmt.Errorf("read audit head: %w", err)
		}
		tx.headRead = true
	}
	return tx.headSeq, tx.headHash, tx.epoch, nil
}

// chain links rs to the head (seq, hash) and returns the new head.
func (s *Store) chain(rs []*gatehouse.Record, seq int64, hash string) (int64, string) {
	for _, r := range rs {
		r.Seq, r.PrevHash = seq+1, hash
		r.Hash = gatehouse.KeyedChainHash(s.auditKey, r.PrevHash, r)
		seq, hash = r.Seq, r.Hash
	}
	return seq, hash
}

// commitEpoch commits and lets this process's view know the epoch and,
// when the transaction read or wrote it, the head.
func (tx *Tx) commitEpoch() error {
	if err := tx.Tx.Commit(); err != nil {
		return err
	}
	tx.s.view.advance(tx.epoch)
	if tx.headRead {
		tx.s.advanceHead(&chainHead{seq: tx.headSeq, hash: tx.headHash, epoch: tx.epoch})
	}
	return nil
}

// advanceHead makes h the head this process last saw commit, unless it
// already knows a newer one: commits on several connections return in
// any order, and a head that went back would only be a wrong guess.
func (s *Store) advanceHead(h *chainHead) {
	for {
		cur := s.lastHead.Load()
		if cur != nil && (cur.seq > h.seq || cur.seq == h.seq && cur.epoch >= h.epoch) {
			return
		}
		if s.lastHead.CompareAndSwap(cur, h) {
			return
		}
	}
}

// chainHead is the head of the chain and the access epoch as this
// process last saw them commit: a guess, which appendKnownHead checks.
type chainHead struct {
	seq   int64
	hash  string
	epoch int64
}

// appendRecordsPostgres inserts the records and advances the head to
// (seq, hash, epoch) in one statement, one round trip whatever the number of
// records: each column goes as one array, and the INSERT runs as a
// data-modifying WITH of the head's UPDATE.
func (tx *Tx) appendRecordsPostgres(rs []*gatehouse.Record, seq int64, hash string, epoch int64) error {
	_, err := tx.exec(appendPostgresSQL, append(recordColumns(rs), seq, hash, epoch)...)
	return err
}

// appendGuessed appends the records on PostgreSQL in one statement that
// locks the head, chained to the head this process last saw commit; when
// that is still the head (the usual case on one node) it saves the round
// trip that reads it. Otherwise it writes nothing but leaves the head
// locked, and Commit reads it and appends the long way.
func (tx *Tx) appendGuessed() (bool, error) {
	h := tx.s.lastHead.Load()
	if h == nil {
		return false, nil
	}
	bump := int64(1)
	if tx.keepEpoch {
		bump = 0
	}
	seq, hash := tx.s.chain(tx.records, h.seq, h.hash)
	var epoch sql.NullInt64
	if err := tx.queryRow(appendGuessedSQL, append([]any{seq, hash, bump, h.seq, h.hash}, recordColumns(tx.records)...)...).Scan(&epoch); err != nil {
		return false, err
	}
	if !epoch.Valid {
		return false, nil
	}
	tx.headRead, tx.headSeq, tx.headHash, tx.epoch = true, seq, hash, epoch.Int64
	return true, nil
}

// appendGuessedSQL takes the new head (seq, hash), the epoch's raise and
// the guessed head (seq, hash), then the record columns as appendPostgresSQL
// does. FOR UPDATE waits out a commit at the head and returns its newest
// version, which the guess is checked against.
var appendGuessedSQL = `WITH c AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
	h AS (UPDATE audit_head SET seq = ?, hash = ?, epoch = audit_head.epoch + ?::bigint FROM c
		WHERE audit_head.id = 1 AND c.seq = ?::bigint AND c.hash = ?::text RETURNING audit_head.epoch),
	ins AS (INSERT INTO audit_records (` + auditColumns + `)
		SELECT * FROM unnest(?::bigint[], ?::text[], ?::bigint[]` + strings.Repeat(", ?::text[]", auditColumnCount-3) + `)
		WHERE EXISTS (SELECT 1 FROM h))
	SELECT (SELECT epoch FROM h)`

// recordColumns returns the records' columns as arrays, in auditColumns'
// order: seq, id, creation_time, then the text columns.
func recordColumns(rs []*gatehouse.Record) []any {
	var nums [2][]int64 // seq, creation_time
	var texts [auditColumnCount - 2][]string
	for i := range texts {
		texts[i] = make([]string, 0, len(rs))
	}
	for _, r := range rs {
		nums[0] = append(nums[0], r.Seq)
		nums[1] = append(nums[1], micros(r.CreationTime))
		for i, v := range [...]string{r.ID, r.Operation, r.UserID, r.UserType, r.ClientIP, r.UserAgent,
			r.ObjectID, r.ItemType, r.SourceFileName, r.SourceRelativeURL, r.TargetUserOrGroupName,
			r.TargetUserOrGroupType, r.UniqueSharingID, r.EventData, r.ResultStatus, r.PrevHash, r.Hash} {
			texts[i] = append(texts[i], v)
		}
	}
	args := []any{nums[0], texts[0], nums[1]}
	for _, t := range texts[1:] {
		args = append(args, t)
	}
	return args
}

// appendPostgresSQL takes the columns in auditColumns' order: seq, id,
// creation_time, then the text columns.
var appendPostgresSQL = `WITH ins AS (INSERT INTO audit_records (` + auditColumns + `)
	SELECT * FROM unnest(?::bigint[], ?::text[], ?::bigint[]` + strings.Repeat(", ?::text[]", auditColumnCount-3) + `))
	UPDATE audit_head SET seq = ?, hash = ?, epoch = ? WHERE id = 1`

const auditColumnCount = 19

var insertRecordSQL = `INSERT INTO audit_records (` + auditColumns + `) VALUES (` +
	strings.TrimSuffix(strings.Repeat("?, ", auditColumnCount), ", ") + `)`

// actorRecord starts a record for an action by a.
func actorRecord(op string, a gatehouse.Actor) *gatehouse.Record {
	return &gatehouse.Record{Operation: op, UserID: a.Email, UserType: a.UserType(), ClientIP: a.ClientIP, UserAgent: a.UserAgent}
}

func scanRecord(sc interface{ Scan(...any) error }) (*gatehouse.Record, error) {
	var r gatehouse.Record
	var ct int64
	err := sc.Scan(&r.Seq, &r.ID, &ct, &r.Operation, &r.UserID, &r.UserType, &r.ClientIP, &r.UserAgent,
		&r.ObjectID, &r.ItemType, &r.SourceFileName, &r.SourceRelativeURL, &r.TargetUserOrGroupName,
		&r.TargetUserOrGroupType, &r.UniqueSharingID, &r.EventData, &r.ResultStatus, &r.PrevHash, &r.Hash)
	r.CreationTime = fromMicros(ct)
	return &r, err
}

// AuditCursor is the position after the last record of a page.
type AuditCursor struct {
	Time int64 // creation time in microseconds
	Seq  int64
}

// SearchAudit returns records matching f, newest first, and a cursor for the
// next page when there may be more.
func (s *Store) SearchAudit(ctx context.Context, f gatehouse.AuditFilter, after *AuditCursor) ([]*gatehouse.Record, *AuditCursor, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Operation != "" {
		add("operation = ?", f.Operation)
	}
	if f.UserID != "" {
		add("user_id = ?", strings.ToLower(f.UserID))
	}
	if f.UserIDPrefix != "" {
		// A range on audit_user's leading column, which its index serves;
		// UserIds are stored lowercased, and the range is byte order, the
		// order of SQLite and of a C or C.UTF-8 PostgreSQL collation.
		if !utf8.ValidString(f.UserIDPrefix) || strings.ContainsRune(f.UserIDPrefix, 0) {
			return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "The user to search for must be text.")
		}
		p := strings.ToLower(f.UserIDPrefix)
		add("user_id >= ?", p)
		if end, ok := prefixEnd(p); ok {
			add("user_id < ?", end)
		}
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if f.UniqueSharingID != "" {
		// The inequality lets the partial index serve the query.
		add("unique_sharing_id <> '' AND unique_sharing_id = ?", strings.ToLower(f.UniqueSharingID))
	}
	if !f.Since.IsZero() {
		add("creation_time >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("creation_time < ?", micros(f.Until))
	}
	if after != nil {
		where = append(where, "(creation_time < ? OR (creation_time = ? AND seq < ?))")
		args = append(args, after.Time, after.Time, after.Seq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q := `SELECT ` + auditColumns + ` FROM audit_records`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY creation_time DESC, seq DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []*gatehouse.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var next *AuditCursor
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = &AuditCursor{Time: micros(last.CreationTime), Seq: last.Seq}
	}
	return out, next, nil
}

// prefixEnd returns the least string above every string that starts with
// p, in byte order: p with its last rune raised by one. It is false when no
// such string exists (p is all U+10FFFF).
func prefixEnd(p string) (string, bool) {
	rs := []rune(p)
	for i := len(rs) - 1; i >= 0; i-- {
		switch r := rs[i]; {
		case r == utf8.MaxRune:
			continue
		case r == 0xD7FF: // the surrogates are not runes of UTF-8
			rs[i] = 0xE000
		default:
			rs[i] = r + 1
		}
		return string(rs[:i+1]), true
	}
	return "", false
}

// ChainBreak describes the first record at which the chain fails.
type ChainBreak struct {
	Seq    int64
	ID     string
	Reason string
}

// VerifyAudit walks the whole chain in order and returns the number of
// records checked and the first break, or nil when the chain is intact.
func (s *Store) VerifyAudit(ctx context.Context) (int64, *ChainBreak, error) {
	// One snapshot for the head and every record, so a server appending
	// meanwhile neither hides a break nor makes one up.
	var opts *sql.TxOptions
	if s.postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.read.BeginTx(ctx, opts)
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()
	var headSeq int64
	var headHash string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return 0, nil, err
	}
	prev, want := gatehouse.GenesisHash, int64(1)
	var n int64
	// Read in batches so memory stays flat over millions of records.
	for {
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT `+auditColumns+` FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT 5000`), want)
		if err != nil {
			return n, nil, err
		}
		got := 0
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return n, nil, err
			}
			got++
			var reason string
			switch {
			case r.Seq != want:
				reason = fmt.Sprintf("record %d is missing before it", want)
			case r.PrevHash != prev:
				reason = "its previous hash does not match the record before it"
			case gatehouse.KeyedChainHash(s.auditKey, prev, r) != r.Hash:
				reason = "its content does not match its hash"
			}
			if reason != "" {
				rows.Close()
				return n, &ChainBreak{Seq: r.Seq, ID: r.ID, Reason: reason}, nil
			}
			prev, want = r.Hash, r.Seq+1
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, nil, err
		}
		if got == 0 {
			break
		}
	}
	switch {
	case headSeq > want-1:
		return n, &ChainBreak{Seq: want, Reason: fmt.Sprintf("records %d to %d are missing at the end of the chain", want, headSeq)}, nil
	case headSeq < want-1:
		return n, &ChainBreak{Seq: headSeq + 1, Reason: fmt.Sprintf("the chain head says %d records but there are %d", headSeq, want-1)}, nil
	case prev != headHash:
		return n, &ChainBreak{Seq: want - 1, Reason: "the last record does not match the chain head"}, nil
	}
	return n, nil, nil
}

// setAuditKey makes every new record's hash an HMAC under key and checks
// that the log was begun under the same key: a node with another key, or a
// log begun without one, refuses to go on rather than break the chain. The
// passcode HMAC key and the key sealing stored link tokens are derived
// from it too, so none of them is in the database.
func (s *Store) setAuditKey(ctx context.Context, key []byte) error {
	sum := sha256.Sum256(append([]byte("gatehouse-audit-key-fingerprint\x00"), key...))
	fp := hex.EncodeToString(sum[:])
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var seq int64
	if err := tx.queryRow(`SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq); err != nil {
		return err
	}
	var have string
	err = tx.queryRow(`SELECT value FROM secrets WHERE name = 'audit_key_fingerprint'`).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows) && seq > 0:
		return fmt.Errorf("the audit log already holds %d records written without a key; it cannot be continued with one", seq)
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.exec(`INSERT INTO secrets (name, value) VALUES ('audit_key_fingerprint', ?)`, fp); err != nil {
			return err
		}
	case err != nil:
		return err
	case have != fp:
		return errors.New("this audit key is not the one the audit log was written with; every node must use the same key file")
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.auditKey = key
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse-passcode-key"))
	codeKey := m.Sum(nil)
	s.codeKey.Store(&codeKey)
	s.setTokenKey(key)
	return nil
}
