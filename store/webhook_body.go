package store

import (
	"bytes"
	"compress/flate"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// A webhook's signed body is kept, byte for byte, because it may have to
// prove what the provider said; but stored as it came it was four fifths of
// the webhook table (700 bytes a delivery, two deliveries a payout). It is
// stored packed instead: a format byte, then raw DEFLATE (RFC 1951) primed
// with bodyDictionary, which holds what every body of the provider's two
// webhooks repeats, so a body packs to about a quarter of its size.
// Unpacking gives back exactly the bytes that were signed.
//
// bodyDictionary must never change: the rows packed with it are read with
// it. A better dictionary is a new format byte, with this one kept.
const (
	bodyPackedV1   = 1
	bodyDictionary = `{"type":"payment_finished","session":{"id":"ps_","status":"accepted","created_at":"2026-","updated_at":"2026-",` +
		`"payments":[{"id":"po_","status":"succeeded","created_at":"2026-","finished_at":"2026-","payment_method":{"type":"bank_account",` +
		`"bank_account":{"system_type":"global","global":{"description":"PAYMENT_FOR_SERVICES","account_number":"••••","account_type":"CHECKING"}}},` +
		`"amount_details":{"amount":,"currency":"gbp"},"participant_details":{"recipient":{"first_name":"","last_name":"","country_iso3":"GBR",` +
		`"bank_name":"","currency":"GBP"}},"customer":{"reference":"INV-"},"transaction_info":{"rrn":"0000000","auth_code":"0000"},` +
		`"metadata":{"payout_id":}}]}}{"type":"ready_to_confirm","session":{"id":"ps_","status":"in_progress","created_at":"2026-",` +
		`"updated_at":"2026-","payments":[{"id":"po_","status":"pending","created_at":"2026-","payment_method":{"type":"card",` +
		`"card":{"type":"bank_card","last4":"","brand":"mastercard","bin":"424242","country_iso3":"GBR"}},"amount_details":{"amount":,` +
		`"currency":"usd"},"participant_details":{"recipient":{"full_name":""}},"customer":{"reference":"INV-"},"metadata":{"payout_id":}}],` +
		`"next_action":"confirm"}}`
)

// packers hold the DEFLATE writers primed with bodyDictionary, one per
// core: making one costs more than packing a body (Reset keeps the
// dictionary), and each holds about 600 KB of tables. Packing is CPU work,
// so more writers than cores would not pack faster; with a writer per
// request, a burst of 64 webhooks held 64 of them at once and took the
// console's memory past 100 MB. A slot is nil until its writer is made.
var packers = func() chan *flate.Writer {
	c := make(chan *flate.Writer, runtime.GOMAXPROCS(0))
	for range cap(c) {
		c <- nil
	}
	return c
}()

func newPacker() *flate.Writer {
	w, err := flate.NewWriterDict(io.Discard, flate.DefaultCompression, []byte(bodyDictionary))
	if err != nil {
		panic(err) // only for a bad level
	}
	return w
}

// PackWebhookBody packs a webhook body for the body_packed column. The
// webhook writer's callers pack in the request's goroutine, on any core,
// rather than in the one writer (see WebhookEvent.Packed).
func PackWebhookBody(body string) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body)/3 + 16)
	buf.WriteByte(bodyPackedV1)
	w := <-packers
	if w == nil {
		w = newPacker()
	}
	defer func() { packers <- w }()
	w.Reset(&buf)
	// Writing to a bytes.Buffer does not fail.
	_, _ = io.WriteString(w, body)
	_ = w.Close()
	return buf.Bytes()
}

// unpackBody is the body a stored row holds: plain (stored before bodies
// were packed) when packed is empty, else packed unpacked.
func unpackBody(plain string, packed []byte) (string, error) {
	if len(packed) == 0 {
		return plain, nil
	}
	if packed[0] != bodyPackedV1 {
		return "", fmt.Errorf("webhook body: unknown packing %d", packed[0])
	}
	r := flate.NewReaderDict(bytes.NewReader(packed[1:]), []byte(bodyDictionary))
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("webhook body: %w", err)
	}
	return string(b), nil
}

// packedBodiesDone names, in the migrations table, that every webhook body
// stored before bodies were packed has been packed: migration 091 adds the
// column; packing needs Go, so packStoredBodies does it once, after it.
const packedBodiesDone = "091_webhook_body_packed.go"

// packStoredBodies packs the bodies of the webhooks stored plain, in
// batches of rows in id order, each batch its own write transaction, then
// records that it is done. It runs when the store opens, after the
// migrations; interrupted, it carries on where it stopped.
func (d *DB) packStoredBodies(ctx context.Context, applied map[string]bool) error {
	if applied[packedBodiesDone] {
		return nil
	}
	const batch = 2000
	var after int64
	for {
		n := 0
		err := d.inTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, body FROM webhook_events WHERE id > ? AND body_packed IS NULL ORDER BY id LIMIT ?`, after, batch)
			if err != nil {
				return err
			}
			type plain struct {
				id   int64
				body string
			}
			var todo []plain
			for rows.Next() {
				var p plain
				if err := rows.Scan(&p.id, &p.body); err != nil {
					rows.Close()
					return err
				}
				todo = append(todo, p)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return err
			}
			for _, p := range todo {
				if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET body = '', body_packed = ? WHERE id = ?`, PackWebhookBody(p.body), p.id); err != nil {
					return err
				}
				after = p.id
			}
			n = len(todo)
			if n < batch {
				_, err = tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, packedBodiesDone, formatTime(d.now()))
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("pack webhook bodies: %w", err)
		}
		if n < batch {
			return nil
		}
	}
}

// webhookEventsCompacted records that SQLite's webhook table was rebuilt
// after its bodies were packed (compactWebhookEvents).
const webhookEventsCompacted = "094_webhook_events_compacted.go"

// compactWebhookEvents rebuilds SQLite's webhook table once, after
// packStoredBodies. Packing a stored body shrinks its row to a third, but
// SQLite leaves each page as it was unless it falls below a third full: at a
// million payouts the table kept 1,985 MB of pages for 827 MB of rows.
// Copying the rows into a new table in id order fills its pages; the old
// ones go to the free list, where new rows reuse them. PostgreSQL needs
// nothing: its vacuum hands the space of updated rows to new ones.
func (d *DB) compactWebhookEvents(ctx context.Context, applied map[string]bool) error {
	if d.dialect.postgres || applied[webhookEventsCompacted] {
		return nil
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, webhookEventsCompacted).Scan(&n); err != nil || n > 0 {
			return err
		}
		if err := rebuildWebhookEvents(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, webhookEventsCompacted, formatTime(d.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("compact webhook events: %w", err)
	}
	return nil
}

// rebuildWebhookEvents copies the webhook table, in id order, into a new one
// made from its own definition, and puts it, its indexes and its triggers in
// the old one's place. The definition is read from the schema, not written
// here: Go migrations run after every SQL one, so the table may already have
// a later shape (097 changed its columns' types and dropped one), which a
// copy of an older shape would undo. Nothing refers to the table, so no
// foreign key needs to be switched off.
func rebuildWebhookEvents(ctx context.Context, tx *sql.Tx) error {
	var table string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'webhook_events'`).Scan(&table); err != nil {
		return err
	}
	// `CREATE TABLE webhook_events (`, or with the name quoted once a
	// table was renamed into its place: the columns follow the parenthesis.
	_, columns, ok := strings.Cut(table, "(")
	if !ok {
		return fmt.Errorf("the webhook table's definition has no columns: %q", table)
	}
	stmts := []string{`CREATE TABLE webhook_events_new (` + columns,
		`INSERT INTO webhook_events_new SELECT * FROM webhook_events ORDER BY id`,
		`DROP TABLE webhook_events`,
		`ALTER TABLE webhook_events_new RENAME TO webhook_events`}
	rows, err := tx.QueryContext(ctx, `SELECT sql FROM sqlite_schema
		WHERE type IN ('index', 'trigger') AND tbl_name = 'webhook_events' AND sql IS NOT NULL ORDER BY type, name`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		stmts = append(stmts, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
