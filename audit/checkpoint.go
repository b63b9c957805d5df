// Package audit keeps the audit log honest from outside the database: keyed
// checkpoints of the chain's head, written to a file beside the secret key
// and to the log, and the verification that compares the chain with them. A
// chain alone cannot show that its newest entries were cut off; a checkpoint
// the database cannot rewrite can.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"countersign/secret"
	"countersign/store"
)

// Checkpoint says that the log had reached Entry, whose hash was Head, at At.
// MAC is an HMAC under a key derived from the secret key, so that nobody
// without the key can write one.
type Checkpoint struct {
	Entry int64     `json:"entry"`
	Head  string    `json:"head"`
	At    time.Time `json:"at"`
	MAC   string    `json:"mac"`
}

func (c Checkpoint) mac(key []byte) string {
	h := hmac.New(sha256.New, key)
	for _, f := range []string{"countersign audit checkpoint v1", strconv.FormatInt(c.Entry, 10), c.Head, c.At.UTC().Format(time.RFC3339Nano)} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ErrNoCheckpoint means there is no checkpoint file yet.
var ErrNoCheckpoint = errors.New("no audit checkpoint file")

// ReadCheckpoint reads and authenticates the checkpoint file at path.
func ReadCheckpoint(path string, key *secret.Key) (Checkpoint, error) {
	var c Checkpoint
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, ErrNoCheckpoint
	}
	if err != nil {
		return c, fmt.Errorf("read audit checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("audit checkpoint %s is not a checkpoint: %w", path, err)
	}
	if !hmac.Equal([]byte(c.mac(key.Derive(secret.PurposeAuditCheckpoint))), []byte(c.MAC)) {
		return c, fmt.Errorf("audit checkpoint %s does not verify under the secret key: it was edited, or belongs to another installation", path)
	}
	return c, nil
}

// writeCheckpoint replaces the file at path with c, atomically: a crash
// leaves the old checkpoint or the new one, never half of one.
func writeCheckpoint(path string, c Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("write audit checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write audit checkpoint: %w", err)
	}
	return nil
}

// Checkpointer writes a checkpoint whenever the log has grown, at most every
// Every (a minute by default), and once more when it stops.
type Checkpointer struct {
	DB     *store.DB
	Key    *secret.Key
	Path   string
	Logger *slog.Logger
	Every  time.Duration

	mu sync.Mutex // one checkpoint at a time
}

// Run writes checkpoints until ctx ends, then writes a last one.
func (c *Checkpointer) Run(ctx context.Context) {
	every := c.Every
	if every <= 0 {
		every = time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := c.WriteNow(ctx); err != nil && ctx.Err() == nil {
			c.log().Error("audit checkpoint", "err", err)
		}
		select {
		case <-ctx.Done():
			if err := c.WriteNow(context.WithoutCancel(ctx)); err != nil {
				c.log().Error("audit checkpoint at shutdown", "err", err)
			}
			return
		case <-tick.C:
		}
	}
}

// WriteNow writes a checkpoint of the current head if the log grew since the
// last one. The last checkpoint is evidence, never papered over: if the log
// is shorter than it, or its entry no longer carries its hash (the log up to
// it was rewritten), the file is kept and the error says what happened.
func (c *Checkpointer) WriteNow(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, err := ReadCheckpoint(c.Path, c.Key)
	if err != nil && !errors.Is(err, ErrNoCheckpoint) {
		return err
	}
	entry, head, err := c.DB.AuditHead(ctx)
	if err != nil {
		return err
	}
	switch {
	case entry < prev.Entry:
		return fmt.Errorf("the audit log ends at entry %d but checkpoint %s says it reached entry %d: entries were removed; "+
			"the checkpoint is kept; run countersign audit verify", entry, c.Path, prev.Entry)
	case entry == prev.Entry && head == prev.Head:
		return nil
	case prev.Entry != 0:
		then, err := c.DB.AuditEntries(ctx, store.AuditFilter{AfterID: prev.Entry - 1, Limit: 1, Ascending: true})
		if err != nil {
			return err
		}
		if len(then) == 0 || then[0].ID != prev.Entry || then[0].Hash != prev.Head {
			return fmt.Errorf("audit entry %d no longer has the hash checkpoint %s recorded on %s: the log up to it was rewritten; "+
				"the checkpoint is kept; run countersign audit verify", prev.Entry, c.Path, prev.At.Format(time.RFC3339))
		}
	}
	cp := Checkpoint{Entry: entry, Head: head, At: c.DB.Now().UTC()}
	cp.MAC = cp.mac(c.Key.Derive(secret.PurposeAuditCheckpoint))
	if err := writeCheckpoint(c.Path, cp); err != nil {
		return err
	}
	// The same checkpoint goes to the log, a second copy outside the database
	// (and outside this file): save the line as a file to verify against it.
	line, _ := json.Marshal(cp)
	c.log().Info("audit checkpoint", "entry", cp.Entry, "head", cp.Head, "checkpoint", string(line))
	return nil
}

func (c *Checkpointer) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Report is what Verify found in an intact log.
type Report struct {
	Entries    int
	KeyedFrom  int64      // the switch-over entry; 0 if the log was never keyed
	Checkpoint Checkpoint // the checkpoint compared (zero if none)
}

// Problem is a log that does not verify: Entry is the first bad entry.
type Problem struct {
	Entry  int64
	Reason string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", p.Entry, p.Reason)
}

// Verify checks the chain from the first entry under key, then compares it
// with the checkpoint at checkpointPath: the checkpoint's entry must exist and
// carry the checkpoint's hash. It returns a *Problem naming the first bad
// entry for an edited, inserted or removed entry, a chain recomputed without
// the key, a log shorter than the checkpoint, or a keyed log whose
// checkpoint file is missing.
func Verify(ctx context.Context, db *store.DB, key *secret.Key, checkpointPath string) (Report, error) {
	r, cp, c, err := verifyChain(ctx, db, key, checkpointPath, false)
	if err != nil {
		return r, err
	}
	if cp == nil {
		if c.KeyedFrom != 0 {
			return r, &Problem{c.LastID + 1, fmt.Sprintf("there is no checkpoint file at %s, so removed newest entries would go unseen; restore it, or a saved checkpoint line from the log", checkpointPath)}
		}
		return r, nil
	}
	r.Checkpoint = *cp
	switch {
	case c.LastID < cp.Entry:
		return r, &Problem{c.LastID + 1, fmt.Sprintf("the log ends at entry %d, but on %s it had reached entry %d: entries %d to %d were removed",
			c.LastID, cp.At.Format(time.RFC3339), cp.Entry, c.LastID+1, cp.Entry)}
	case c.MarkHash != cp.Head:
		return r, &Problem{cp.Entry, fmt.Sprintf("the entry does not match the checkpoint of %s: the log up to it was rewritten", cp.At.Format(time.RFC3339))}
	}
	return r, nil
}

// VerifyCopy checks a copy of the database, such as a backup, the way Verify
// checks the live one, except that the copy may end before the checkpoint:
// a backup taken before the checkpoint was written holds a prefix of the
// log. Where the copy reaches the checkpoint's entry, it must carry the
// checkpoint's hash; Report.Checkpoint is set only then.
func VerifyCopy(ctx context.Context, db *store.DB, key *secret.Key, checkpointPath string) (Report, error) {
	r, cp, c, err := verifyChain(ctx, db, key, checkpointPath, true)
	if err != nil {
		return r, err
	}
	switch {
	case cp == nil || cp.Entry == 0 || c.LastID < cp.Entry:
		return r, nil
	case c.MarkHash != cp.Head:
		return r, &Problem{cp.Entry, fmt.Sprintf("the entry does not match the checkpoint of %s: the log up to it was rewritten", cp.At.Format(time.RFC3339))}
	}
	r.Checkpoint = *cp
	return r, nil
}

// verifyChain is what Verify and VerifyCopy share: it reads the checkpoint
// (nil when there is no file), checks the chain under key up
// to it, and that the chain is keyed where the key file says (a prefix, for
// a copy, may end before that).
func verifyChain(ctx context.Context, db *store.DB, key *secret.Key, checkpointPath string, prefix bool) (Report, *Checkpoint, store.AuditCheck, error) {
	var r Report
	read, err := ReadCheckpoint(checkpointPath, key)
	cp := &read
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		cp = nil
	case err != nil:
		return r, nil, store.AuditCheck{}, err
	}
	c, err := db.VerifyAudit(ctx, key.Derive(secret.PurposeAuditChain), read.Entry)
	if err != nil {
		return r, cp, c, err
	}
	r.Entries, r.KeyedFrom = c.Checked, c.KeyedFrom
	if c.Break != nil {
		return r, cp, c, &Problem{c.Break.ID, c.Break.Reason}
	}
	if p := keyedWhereTheKeyFileSays(c, key, prefix); p != nil {
		return r, cp, c, p
	}
	return r, cp, c, nil
}

// keyedWhereTheKeyFileSays checks that an intact chain is keyed from the
// entry the key file records (any entry, for a key file that does not say):
// the database cannot move that start, so a log whose switch-over was
// removed and whose chain was recomputed with plain hashes fails here even
// without a checkpoint. A copy (prefix) may end before the start.
func keyedWhereTheKeyFileSays(c store.AuditCheck, key *secret.Key, prefix bool) *Problem {
	from := key.AuditFrom()
	switch {
	case c.LastID == 0, c.KeyedFrom != 0 && (from == 0 || c.KeyedFrom == from):
		return nil // empty, or keyed where the file says (an older file: the chain's MACs pin the start)
	case c.LastID < from:
		if prefix {
			return nil
		}
		return &Problem{c.LastID + 1, fmt.Sprintf("the key file says the log is chained under the key from entry %d, but it ends at entry %d: entries were removed", from, c.LastID)}
	case c.KeyedFrom == 0:
		at := max(from, 1)
		return &Problem{at, fmt.Sprintf("the log is not chained under the key at all, though the key file says it is from entry %d: "+
			"the chain was recomputed without the key (or the key file belongs to another database)", at)}
	}
	return &Problem{min(from, c.KeyedFrom), fmt.Sprintf("the key file says the log is chained under the key from entry %d, but its switch-over is entry %d: "+
		"the chain was recomputed without the key", from, c.KeyedFrom)}
}
