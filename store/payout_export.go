package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// exportBatch is how many rows EachPayout reads per query.
const exportBatch = 2000

// exportColumns are the payout's columns the export writes. The names of
// the maker and the approvers come from one read of the users, not a
// look-up per row (the history page's query scans the users for every row).
const exportColumns = `p.id, p.created_at, p.state, p.amount, p.currency, p.full_name, coalesce(p.recipient_id, 0),
	p.card_brand, p.card_last4, p.maker_id, p.customer_reference, p.purpose, p.note, coalesce(p.provider_session_id, ''),
	p.finished_at, p.failure_code, p.failure_reason, p.cancel_reason, p.method, p.account_label, p.account_country,
	p.returned_on, p.return_reason`

// approversOfKeys is, for each payout of a batch's keys (a keysQuery), the
// user ids of its approvals: one query a batch instead of a sub-query a row.
const approversOfKeys = `SELECT a.payout_id, string_agg(CAST(a.user_id AS TEXT), ',')
	FROM (%s) k JOIN approvals a ON a.payout_id = k.key_id GROUP BY a.payout_id`

// EachPayout calls fn for every payout that matches the filter, newest first,
// ignoring f.Limit, with the columns the export writes (the rest are zero).
// fn must not keep the row it gets: its memory is refilled later.
//
// It reads in keyset batches, each one query walking the filter's index, so
// an export of a million rows never holds one read transaction open for its
// whole length; a row that changes state meanwhile appears once, as it was
// when its batch was read.
//
// A batch is read while fn works through the one before it (two goroutines:
// reading and writing out a row cost about the same, and the machine has a
// core for each). When fn fails, reading stops and EachPayout returns fn's
// error; when reading fails, fn has had every row read before the failure.
func (d *DB) EachPayout(ctx context.Context, f PayoutFilter, fn func(*PayoutRow) error) error {
	return d.eachInBatches(ctx, f, exportBatch, fn)
}

func (d *DB) eachInBatches(ctx context.Context, f PayoutFilter, batch int, fn func(*PayoutRow) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Two batches go round: one filled by the reader while fn empties the other.
	free := make(chan *exportPage, 2)
	free <- &exportPage{}
	free <- &exportPage{}
	full := make(chan *exportPage)
	var readErr error
	go func() {
		defer close(full)
		readErr = d.readBatches(ctx, f, batch, free, full)
	}()
	stop := func(err error) error {
		cancel()
		for range full { // the reader sees the cancel and ends
		}
		return err
	}
	for page := range full {
		if err := ctx.Err(); err != nil { // the caller went away: no more rows
			return stop(err)
		}
		for i := range page.n {
			if err := fn(&page.rows[i]); err != nil {
				return stop(err)
			}
		}
		free <- page
	}
	return readErr // written before full was closed
}

// readBatches reads the filter's rows a batch at a time into pages taken
// from free and hands each filled page to full, until the rows end, reading
// fails or ctx is done.
func (d *DB) readBatches(ctx context.Context, f PayoutFilter, batch int, free <-chan *exportPage, full chan<- *exportPage) error {
	names, err := d.userNames(ctx)
	if err != nil {
		return err
	}
	x := exporter{names: names, joined: map[string]string{}, approvers: map[int64]string{}}
	if err := d.weighName(ctx, &f); err != nil {
		return err
	}
	f.Limit = batch
	for {
		var page *exportPage
		select {
		case page = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		page.reset(batch)
		err := d.exportBatch(ctx, f, &x, page)
		if page.n > 0 {
			f.After = page.last().Key()
			select {
			case full <- page:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil || page.n < batch {
			return err
		}
	}
}

// exportPage is one batch of rows on its way from the reader to fn: the
// first n of rows, whose payouts are refilled batch after batch.
type exportPage struct {
	rows []PayoutRow
	n    int
}

// reset empties the page for a batch of size rows.
func (p *exportPage) reset(size int) {
	if len(p.rows) < size {
		payouts := make([]Payout, size)
		p.rows = make([]PayoutRow, size)
		for i := range p.rows {
			p.rows[i].Payout = &payouts[i]
		}
	}
	p.n = 0
}

// next is the row after the page's last, zeroed; keep adds it to the page.
func (p *exportPage) next() *PayoutRow {
	r := &p.rows[p.n]
	*r.Payout = Payout{}
	r.Approvers = ""
	return r
}

func (p *exportPage) keep() { p.n++ }

// last is the page's last row.
func (p *exportPage) last() *PayoutRow { return &p.rows[p.n-1] }

// exporter is what an export keeps from batch to batch: the users' names,
// each set of approvers' names as it was first joined (the same few sets
// recur batch after batch), and the batch's approvers by payout.
type exporter struct {
	names     map[int64]string
	joined    map[string]string // approvers' user ids as string_agg lists them → their names
	approvers map[int64]string  // payout id → names, for the batch being read
	ids       []int64
	created   sql.RawBytes
	finished  sql.RawBytes
}

// exportBatch reads one batch into page: its approvers, then its rows, in
// one read transaction, so that both see the same instant (an approval that
// lands between them is in neither or in both).
func (d *DB) exportBatch(ctx context.Context, f PayoutFilter, x *exporter, page *exportPage) error {
	tx, err := d.db.BeginTx(ctx, d.dialect.readOnly())
	if err != nil {
		return fmt.Errorf("export payouts: %w", err)
	}
	defer tx.Rollback() // it only read
	keys, args := f.keysQuery(d.dialect)
	if err := d.batchApprovers(ctx, tx, keys, args, x); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+exportColumns+` FROM (`+keys+`) k JOIN payouts p ON p.id = k.key_id
		ORDER BY k.key_at DESC, k.key_id DESC`, args...)
	if err != nil {
		return fmt.Errorf("export payouts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r := page.next()
		p := r.Payout
		err := rows.Scan(&p.ID, &x.created, &p.State, &p.Amount, &p.Currency, &p.FullName, &p.RecipientID,
			&p.CardBrand, &p.CardLast4, &p.MakerID, &p.CustomerReference, &p.Purpose, &p.Note, &p.ProviderSessionID,
			&x.finished, &p.FailureCode, &p.FailureReason, &p.CancelReason, &p.Method, &p.AccountLabel, &p.AccountCountry,
			&p.ReturnedOn, &p.ReturnReason)
		if err != nil {
			return fmt.Errorf("export payouts: %w", err)
		}
		p.CreatedAt = parseTimeBytes(x.created)
		if x.finished != nil {
			p.FinishedAt = parseTimeBytes(x.finished)
		}
		if p.MakerName, err = d.userName(ctx, x, p.MakerID); err != nil {
			return err
		}
		r.Approvers = x.approvers[p.ID]
		page.keep()
	}
	return rows.Err()
}

// batchApprovers fills x.approvers with the names of the approvers of the
// payouts that keys (with args) selects.
func (d *DB) batchApprovers(ctx context.Context, tx *sql.Tx, keys string, args []any, x *exporter) error {
	clear(x.approvers)
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(approversOfKeys, keys), args...)
	if err != nil {
		return fmt.Errorf("export approvers: %w", err)
	}
	defer rows.Close()
	var id int64
	var ids sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &ids); err != nil {
			return fmt.Errorf("export approvers: %w", err)
		}
		names, ok := x.joined[string(ids)]
		if !ok {
			if names, err = d.approverNames(ctx, x, string(ids)); err != nil {
				return err
			}
			x.joined[string(ids)] = names
		}
		x.approvers[id] = names
	}
	return rows.Err()
}

// approverNames are the names of the distinct users in ids (user ids,
// comma-separated), by user id, joined as the history page joins them.
func (d *DB) approverNames(ctx context.Context, x *exporter, ids string) (string, error) {
	x.ids = x.ids[:0]
	for s := range strings.SplitSeq(ids, ",") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", fmt.Errorf("export payouts: approver %q: %w", s, err)
		}
		x.ids = append(x.ids, id)
	}
	slices.Sort(x.ids)
	var b strings.Builder
	for i, id := range slices.Compact(x.ids) {
		name, err := d.userName(ctx, x, id)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
	}
	return b.String(), nil
}

// userName is a user's name from x.names, read again once a user the
// export has not seen appears (one created while it runs).
func (d *DB) userName(ctx context.Context, x *exporter, id int64) (string, error) {
	if name, ok := x.names[id]; ok {
		return name, nil
	}
	names, err := d.userNames(ctx)
	if err != nil {
		return "", err
	}
	x.names = names
	return names[id], nil
}

// userNames maps every user's id to their name.
func (d *DB) userNames(ctx context.Context) (map[int64]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, name FROM users`)
	if err != nil {
		return nil, fmt.Errorf("user names: %w", err)
	}
	defer rows.Close()
	names := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("user names: %w", err)
		}
		names[id] = name
	}
	return names, rows.Err()
}
