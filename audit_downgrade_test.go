package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"countersign/store"
)

// operatorAddsMaker runs `countersign users add`: like a server start, it opens the
// database with the key file and keys the audit log.
func operatorAddsMaker(getenv func(string) string, email string, more ...string) error {
	args := append([]string{"users", "add", "-email", email, "-name", email, "-role", "maker"}, more...)
	var out bytes.Buffer
	return run(context.Background(), args, getenv, strings.NewReader("a long enough password\n"), &out, &out)
}

func auditVerify(getenv func(string) string) error {
	var out bytes.Buffer
	return run(context.Background(), []string{"audit", "verify"}, getenv, nil, &out, &out)
}

// downgrade does what the audit found: someone who can write the database
// but has no key renames the switch-over entry, edits an entry, and
// recomputes every hash as plain SHA-256, so that the log reads as one that
// was never keyed.
func downgrade(t *testing.T, db string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER IF EXISTS audit_no_update`,
		`INSERT INTO audit_actions (action) VALUES ('login.ok') ON CONFLICT DO NOTHING`,
		`UPDATE audit_log SET action_id = (SELECT id FROM audit_actions WHERE action = 'login.ok')
			WHERE action_id = (SELECT id FROM audit_actions WHERE action = 'audit.chain_keyed')`,
		`UPDATE audit_log SET detail = 'nothing happened' WHERE id = 2`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The chain hashes a time as the store's text; SQLite keeps microseconds.
	rows, err := raw.Query(`SELECT id, strftime('%Y-%m-%dT%H:%M:%S', at / 1000000, 'unixepoch') || printf('.%06dZ', at % 1000000),
		coalesce(actor_id, 0), actor, (SELECT action FROM audit_actions x WHERE x.id = action_id), object_type, object_id, ip, outcome, detail
		FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		id     int64
		fields []string
	}
	var entries []entry
	for rows.Next() {
		var id, actorID int64
		f := make([]string, 8)
		if err := rows.Scan(&id, &f[0], &actorID, &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{id, append([]string{f[0], fmt.Sprint(actorID)}, f[1:]...)})
	}
	rows.Close()
	prev := ""
	for _, e := range entries {
		h := sha256.New()
		for _, f := range append([]string{prev}, e.fields...) {
			fmt.Fprintf(h, "%d:%s;", len(f), f)
		}
		if _, err := raw.Exec(`UPDATE audit_log SET hash = ? WHERE id = ?`, h.Sum(nil), e.id); err != nil {
			t.Fatal(err)
		}
		prev = hex.EncodeToString(h.Sum(nil))
	}
}

func countEntries(t *testing.T, db string) int {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestALogRewrittenWithoutTheKeyNeverVerifies: the audit's attack. The
// switch-over is renamed and the chain recomputed with plain hashes; then
// the console starts again. Start refuses to key the log a second time, the
// checkpoint is not overwritten, and `audit verify` keeps failing: with the
// checkpoint, without it, and with a key file from before the chain's
// start was recorded in it.
func TestALogRewrittenWithoutTheKeyNeverVerifies(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	keyFile, checkpoint := filepath.Join(dir, "c.key"), filepath.Join(dir, "c.checkpoint")
	getenv := env(map[string]string{"COUNTERSIGN_DB": db})
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		if err := operatorAddsMaker(getenv, email); err != nil {
			t.Fatal(err)
		}
	}
	if key, _ := os.ReadFile(keyFile); !strings.HasSuffix(string(key), "\naudit-chain-from 1\n") {
		t.Fatalf("the key file of a new installation does not say it keys the log from entry 1:\n%s", key)
	}
	downgrade(t, db)
	if err := auditVerify(getenv); err == nil {
		t.Fatal("audit verify passed a downgraded log")
	}
	before, _ := os.ReadFile(checkpoint)

	err := operatorAddsMaker(getenv, "carol@example.com") // the restart
	if !errors.Is(err, store.ErrAuditDowngraded) || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("restart on a downgraded log: %v; want ErrAuditDowngraded naming the key file", err)
	}
	if n := countEntries(t, db); n != 3 {
		t.Errorf("%d entries after the refused restart; want the 3 there were (no new switch-over)", n)
	}
	if after, _ := os.ReadFile(checkpoint); !bytes.Equal(before, after) {
		t.Error("the checkpoint was overwritten")
	}
	for name, prepare := range map[string]func(){
		"with the checkpoint":    func() {},
		"without the checkpoint": func() { os.Remove(checkpoint) },
		"with an older key file": func() {
			key, _ := os.ReadFile(keyFile)
			first, _, _ := strings.Cut(string(key), "\n")
			os.WriteFile(keyFile, []byte(first+"\n"), 0o600)
		},
	} {
		prepare()
		if err := auditVerify(getenv); err == nil || !strings.Contains(err.Error(), "broken at entry") {
			t.Errorf("audit verify %s: %v; want broken", name, err)
		}
		if err := operatorAddsMaker(getenv, "carol@example.com"); !errors.Is(err, store.ErrAuditDowngraded) {
			t.Errorf("restart %s: %v; want ErrAuditDowngraded", name, err)
		}
	}
}

// TestAKeyFileThatDoesNotFitStopsStart: a key file from another
// installation, or a path where there is none (so a new key would be
// made), stops start with a message instead of starting a new chain; the
// key made for the wrong path is removed again.
func TestAKeyFileThatDoesNotFitStopsStart(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	getenv := env(map[string]string{"COUNTERSIGN_DB": db})
	if err := operatorAddsMaker(getenv, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.key")
	if err := operatorAddsMaker(env(map[string]string{"COUNTERSIGN_DB": filepath.Join(filepath.Dir(other), "other.db")}), "x@example.com"); err != nil {
		t.Fatal(err)
	}
	err := operatorAddsMaker(getenv, "bob@example.com", "-secret-key-file", other)
	if !errors.Is(err, store.ErrAuditKeyMismatch) || !strings.Contains(err.Error(), other) {
		t.Errorf("another installation's key file: %v; want ErrAuditKeyMismatch naming it", err)
	}
	missing := filepath.Join(dir, "elsewhere.key")
	err = operatorAddsMaker(getenv, "bob@example.com", "-secret-key-file", missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("a new key file for a keyed database: %v; want refused", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the key file made for the wrong path was left behind: %v", err)
	}
	if n := countEntries(t, db); n != 2 {
		t.Errorf("%d entries; want the 2 before the refused starts", n)
	}
	if err := auditVerify(getenv); err != nil {
		t.Errorf("audit verify with the right key: %v", err)
	}
}
