package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
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

// approvalsBetween are the approvals of the payouts with ids in a range, in
// the order of their index (payout, user): one walk of the index, no sort.
const approvalsBetween = `SELECT payout_id, user_id FROM approvals WHERE payout_id BETWEEN ? AND ? ORDER BY payout_id, user_id`

// approvalsOfKeys are the approvals of the payouts a keysQuery selects, in
// the same order: one index descent a payout.
const approvalsOfKeys = `SELECT a.payout_id, a.user_id FROM (%s) k JOIN approvals a ON a.payout_id = k.key_id ORDER BY a.payout_id, a.user_id`

// denseBatch is how many payout ids a batch may span, per row it holds, for
// its approvals to be read as one range (approvalsBetween) rather than a
// look-up per payout (approvalsOfKeys). The range hands over the approvals
// of every id it spans, a look-up costs a descent of the index: at a million
// payouts a currency's batches (about four ids a row) took 0.45 s of the
// export by range and 0.7 s by look-up, so the range pays up to about six.
const denseBatch = 6

// EachPayout calls fn for every payout that matches the filter, newest first,
// ignoring f.Limit, with the columns the export writes (the rest are zero).
// fn must not keep the row it gets: its memory is refilled later.
//
// It reads in keyset batches, each one query walking the filter's index, so
// an export of a million rows never holds one read transaction open for its
// whole length; a row that changes state meanwhile appears once, as it was
// when its batch was read.
//
// Batches are read ahead, exportReaders at once, while fn works through the
// one before them: reading a row costs SQLite three times what writing it out
// costs, and the machine has two cores. A batch is a range of keys, fixed
// before it is read (planBatches), so the batches read side by side neither
// overlap nor leave a gap. When fn fails, reading stops and EachPayout returns
// fn's error; when reading fails, fn has had every row read before the
// failure; when ctx ends, no further batch reaches fn.
func (d *DB) EachPayout(ctx context.Context, f PayoutFilter, fn func(*PayoutRow) error) error {
	return d.eachInBatches(ctx, f, exportBatch, fn)
}

// exportReaders is how many batches an export reads at once, each on its own
// connection.
const exportReaders = 2

func (d *DB) eachInBatches(ctx context.Context, f PayoutFilter, batch int, fn func(*PayoutRow) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if err := d.WeighName(ctx, &f); err != nil {
		return err
	}
	// A page for each reader and one for fn: memory stays flat.
	pages := make(chan *exportPage, exportReaders+1)
	for range exportReaders + 1 {
		pages <- &exportPage{}
	}
	tasks := make(chan *exportTask)
	order := make(chan *exportTask, exportReaders+1) // the batches as fn takes them
	for range exportReaders {
		wg.Go(func() { d.readTasks(ctx, tasks) })
	}
	wg.Go(func() {
		defer close(order)
		defer close(tasks)
		d.planBatches(ctx, f, batch, pages, tasks, order)
	})
	stop := func(err error) error {
		cancel()
		for t := range order { // every planned batch ends, read or not
			<-t.done
		}
		return err
	}
	for t := range order {
		<-t.done
		if err := ctx.Err(); err != nil { // the caller went away: no more rows
			return stop(err)
		}
		if t.page != nil {
			for i := range t.page.n {
				if err := fn(&t.page.rows[i]); err != nil {
					return stop(err)
				}
			}
			pages <- t.page
		}
		if t.err != nil {
			return stop(t.err)
		}
	}
	return nil
}

// exportTask is one batch to read: the filter's rows after f.After, through
// f.through (to the end when that is zero), into page. done is closed once
// the page is filled or err says why not.
type exportTask struct {
	f    PayoutFilter
	page *exportPage
	err  error
	done chan struct{}
}

// planBatches cuts the filter's rows into batches of about batch rows by
// walking its keys (the index alone, no row read), and hands each batch with
// a page to a reader (tasks) and, in the same order, to fn (order). It ends
// after the last batch, at an error (a task carrying it) or once ctx is done.
func (d *DB) planBatches(ctx context.Context, f PayoutFilter, batch int, pages chan *exportPage, tasks, order chan<- *exportTask) {
	for {
		t := &exportTask{f: f, done: make(chan struct{})}
		select {
		case t.page = <-pages:
		case <-ctx.Done():
			return
		}
		last, err := d.batchEnd(ctx, f, batch)
		t.f.through, t.f.Limit = last, 0 // a zero last: the rest
		order <- t
		if err != nil {
			pages <- t.page
			t.page, t.err = nil, err
			close(t.done)
			return
		}
		select {
		case tasks <- t:
		case <-ctx.Done():
			t.err = ctx.Err()
			close(t.done)
			return
		}
		if last.IsZero() {
			return
		}
		f.After = last
	}
}

// batchEnd is the key of the batch-th row after f.After, or zero when fewer
// rows remain.
func (d *DB) batchEnd(ctx context.Context, f PayoutFilter, batch int) (PayoutKey, error) {
	f.Limit = batch
	keys, args := f.keysQuery(d.dialect)
	var at string
	var id int64
	err := d.db.QueryRowContext(ctx, `SELECT key_at, key_id FROM (`+keys+`) k ORDER BY key_at DESC, key_id DESC LIMIT 1 OFFSET ?`,
		append(args, batch-1)...).Scan(&at, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return PayoutKey{}, nil
	}
	if err != nil {
		return PayoutKey{}, fmt.Errorf("export payouts: %w", err)
	}
	return PayoutKey{CreatedAt: parseTime(at), ID: id}, nil
}

// readTasks reads the batches it is handed, one after another, until tasks
// is closed.
func (d *DB) readTasks(ctx context.Context, tasks <-chan *exportTask) {
	x := exporter{index: map[int64]int{}}
	for t := range tasks {
		t.page.reset()
		t.err = d.exportBatch(ctx, t.f, &x, t.page)
		close(t.done)
	}
}

// exportPage is one batch of rows on its way from a reader to fn: the first
// n of rows, whose payouts are refilled batch after batch.
type exportPage struct {
	rows []PayoutRow
	n    int
}

// reset empties the page, keeping its memory.
func (p *exportPage) reset() { p.n = 0 }

// next is the row after the page's last, zeroed; keep adds it to the page.
func (p *exportPage) next() *PayoutRow {
	if p.n == len(p.rows) {
		p.rows = append(p.rows, PayoutRow{Payout: &Payout{}})
	}
	r := &p.rows[p.n]
	*r.Payout = Payout{}
	r.Approvers = ""
	return r
}

func (p *exportPage) keep() { p.n++ }

// exporter is what a reader keeps while it reads a batch: the users' names,
// each set of approvers' names as it was first joined (the same few sets
// recur row after row), and scratch space kept from batch to batch.
type exporter struct {
	names    map[int64]string
	joined   map[string]string // user ids, comma-separated → their names
	index    map[int64]int     // payout id → its row in the batch
	ids      []int64
	key      []byte
	created  sql.RawBytes
	finished sql.RawBytes
}

// exportBatch reads one batch into page: its rows, then their approvers, in
// one read transaction, so that both queries see the database at the same
// instant.
func (d *DB) exportBatch(ctx context.Context, f PayoutFilter, x *exporter, page *exportPage) error {
	tx, err := d.db.BeginTx(ctx, d.dialect.readOnly())
	if err != nil {
		return fmt.Errorf("export payouts: %w", err)
	}
	defer tx.Rollback() // it only read
	// The names as of the batch's instant: every user its rows name is there.
	if x.names, err = userNames(ctx, tx); err != nil {
		return err
	}
	x.joined = map[string]string{}
	keys, args := f.keysQuery(d.dialect)
	if err := d.batchRows(ctx, tx, keys, args, x, page); err != nil {
		return err
	}
	return d.batchApprovers(ctx, tx, keys, args, x, page)
}

func (d *DB) batchRows(ctx context.Context, tx *sql.Tx, keys string, args []any, x *exporter, page *exportPage) error {
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
		p.MakerName = x.names[p.MakerID]
		page.keep()
	}
	return rows.Err()
}

// batchApprovers sets the Approvers of the page's rows (read by keys with
// args): the names of everyone who approved any version, by user id.
func (d *DB) batchApprovers(ctx context.Context, tx *sql.Tx, keys string, args []any, x *exporter, page *exportPage) error {
	if page.n == 0 {
		return nil
	}
	clear(x.index)
	lo, hi := page.rows[0].ID, page.rows[0].ID
	for i, r := range page.rows[:page.n] {
		x.index[r.ID] = i
		lo, hi = min(lo, r.ID), max(hi, r.ID)
	}
	q, qargs := approvalsBetween, []any{lo, hi}
	if hi-lo >= int64(denseBatch*page.n) {
		q, qargs = fmt.Sprintf(approvalsOfKeys, keys), args
	}
	rows, err := tx.QueryContext(ctx, q, qargs...)
	if err != nil {
		return fmt.Errorf("export approvers: %w", err)
	}
	defer rows.Close()
	// Rows come by payout, then user: a payout's approvers are a run of rows.
	var payout, user, last int64
	x.ids = x.ids[:0]
	for rows.Next() {
		if err := rows.Scan(&payout, &user); err != nil {
			return fmt.Errorf("export approvers: %w", err)
		}
		if payout != last {
			x.setApprovers(page, last)
			last, x.ids = payout, x.ids[:0]
		}
		if len(x.ids) == 0 || x.ids[len(x.ids)-1] != user { // one name for several versions
			x.ids = append(x.ids, user)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export approvers: %w", err)
	}
	x.setApprovers(page, last)
	return nil
}

// setApprovers sets the Approvers of payout's row in the page, if it has one
// there, to the names of the users in x.ids.
func (x *exporter) setApprovers(page *exportPage, payout int64) {
	i, ok := x.index[payout]
	if !ok || len(x.ids) == 0 {
		return
	}
	x.key = x.key[:0]
	for _, id := range x.ids {
		x.key = strconv.AppendInt(append(x.key, ','), id, 10)
	}
	names, ok := x.joined[string(x.key)]
	if !ok {
		var b strings.Builder
		for j, id := range x.ids {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(x.names[id])
		}
		names = b.String()
		x.joined[string(x.key)] = names
	}
	page.rows[i].Approvers = names
}

// userNames maps every user's id to their name.
func userNames(ctx context.Context, q querier) (map[int64]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name FROM users`)
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
