package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"countersign/fail"
)

// ErrAccountExists refuses a bank account the recipient already holds (and
// has not removed).
var ErrAccountExists = fail.New(fail.Conflict, "account_exists", "This bank account is already saved for the recipient")

// BankAccount is a recipient's bank account. Details are the country's fields
// (package bank's Field.Key -> value) as bank.Check normalised them; Masked is
// the account as it is shown everywhere but the verify step; Identity names
// the account by its identifiers, for the one-account-once rule.
type BankAccount struct {
	ID          int64
	RecipientID int64
	Country     string // ISO 3166-1 alpha-3
	Currency    string
	Scheme      string
	BankName    string
	FirstName   string
	LastName    string
	Details     map[string]string
	Masked      string
	Identity    string
	AddedBy     int64
	AddedAt     time.Time
	VerifiedBy  int64
	VerifiedAt  time.Time
	RemovedBy   int64
	RemovedAt   time.Time
}

// Verified reports whether a second person confirmed the account.
func (a *BankAccount) Verified() bool { return !a.VerifiedAt.IsZero() }

// Removed reports whether the account was taken out of use.
func (a *BankAccount) Removed() bool { return !a.RemovedAt.IsZero() }

// Holder is the account holder's name as the bank knows it.
func (a *BankAccount) Holder() string { return a.FirstName + " " + a.LastName }

const bankAccountColumns = `id, recipient_id, country, currency, scheme, bank_name, first_name, last_name, details, masked, identity,
	added_by, added_at, coalesce(verified_by, 0), verified_at, coalesce(removed_by, 0), removed_at`

func scanBankAccount(row interface{ Scan(...any) error }) (*BankAccount, error) {
	var a BankAccount
	var details, added string
	var verified, removed sql.NullString
	err := row.Scan(&a.ID, &a.RecipientID, &a.Country, &a.Currency, &a.Scheme, &a.BankName, &a.FirstName, &a.LastName, &details,
		&a.Masked, &a.Identity, &a.AddedBy, &added, &a.VerifiedBy, &verified, &a.RemovedBy, &removed)
	if err != nil {
		return nil, asNotFound(err, "bank account")
	}
	if err := json.Unmarshal([]byte(details), &a.Details); err != nil {
		return nil, fmt.Errorf("bank account %d: details: %w", a.ID, err)
	}
	a.AddedAt, a.VerifiedAt, a.RemovedAt = parseTime(added), nullTime(verified), nullTime(removed)
	return &a, nil
}

// CreateBankAccount saves a bank account for a recipient, unverified. The
// same account (by Identity) twice for one recipient is ErrAccountExists.
func (t *Tx) CreateBankAccount(ctx context.Context, a *BankAccount) error {
	details, err := json.Marshal(a.Details)
	if err != nil {
		return fmt.Errorf("create bank account: %w", err)
	}
	a.AddedAt = t.now
	var id int64
	err = t.tx.QueryRowContext(ctx, `INSERT INTO bank_accounts (recipient_id, country, currency, scheme, bank_name, first_name, last_name,
		details, masked, identity, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.RecipientID, a.Country, a.Currency, a.Scheme, a.BankName, a.FirstName, a.LastName, string(details), a.Masked, a.Identity,
		a.AddedBy, formatTime(t.now)).Scan(&id)
	if isUniqueViolation(err) {
		return ErrAccountExists
	}
	if err != nil {
		return fmt.Errorf("create bank account: %w", err)
	}
	a.ID = id
	return nil
}

func bankAccountByID(ctx context.Context, q querier, id int64) (*BankAccount, error) {
	return scanBankAccount(q.QueryRowContext(ctx, `SELECT `+bankAccountColumns+` FROM bank_accounts WHERE id = ?`, id))
}

// BankAccountByID returns one bank account, removed or not.
func (d *DB) BankAccountByID(ctx context.Context, id int64) (*BankAccount, error) {
	return bankAccountByID(ctx, d.db, id)
}

// BankAccountByID returns one bank account as this transaction sees it.
func (t *Tx) BankAccountByID(ctx context.Context, id int64) (*BankAccount, error) {
	return bankAccountByID(ctx, t.tx, id)
}

// VerifyBankAccount records that userID checked the account. Who may is the
// payout service's rule (payout.CheckVerifyAccount); here an account verified
// or removed meanwhile gives ErrConflict.
func (t *Tx) VerifyBankAccount(ctx context.Context, id, userID int64) error {
	return t.changeBankAccount(ctx, id, `UPDATE bank_accounts SET verified_by = ?, verified_at = ? WHERE id = ? AND verified_at IS NULL AND removed_at IS NULL`,
		userID, formatTime(t.now), id)
}

// RemoveBankAccount takes an account out of use. Its row stays: payouts refer to it.
func (t *Tx) RemoveBankAccount(ctx context.Context, id, userID int64) error {
	return t.changeBankAccount(ctx, id, `UPDATE bank_accounts SET removed_by = ?, removed_at = ? WHERE id = ? AND removed_at IS NULL`,
		userID, formatTime(t.now), id)
}

// changeBankAccount runs a conditional update of one account: no row changed
// is NotFound when there is no such account, else ErrConflict.
func (t *Tx) changeBankAccount(ctx context.Context, id int64, query string, args ...any) error {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("change bank account %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := t.BankAccountByID(ctx, id); err != nil {
			return err
		}
		return ErrConflict
	}
	return nil
}

// BankAccountsForRecipient returns a recipient's bank accounts that are not
// removed, oldest first.
func (d *DB) BankAccountsForRecipient(ctx context.Context, recipientID int64) ([]*BankAccount, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+bankAccountColumns+` FROM bank_accounts WHERE recipient_id = ? AND removed_at IS NULL ORDER BY id`, recipientID)
	if err != nil {
		return nil, fmt.Errorf("bank accounts: %w", err)
	}
	defer rows.Close()
	var out []*BankAccount
	for rows.Next() {
		a, err := scanBankAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AccountChoice is a bank account someone may pay to: verified, not removed.
type AccountChoice struct {
	AccountID     int64
	RecipientID   int64
	RecipientName string
	Masked        string
	Country       string
	Currency      string
}

// PayableAccounts lists the verified, not removed bank accounts, by
// recipient name; of one recipient when recipientID is not 0. At most limit
// (0: no limit).
//
// As PayableCards, it walks the recipients' name index first, then
// bank_accounts_payable, or sorts the payable accounts where few
// recipients have one.
func (d *DB) PayableAccounts(ctx context.Context, recipientID int64, limit int) ([]AccountChoice, error) {
	return payable(ctx, d, `a.id, r.id, r.full_name, a.masked, a.country, a.currency`, "bank_accounts a", "a", recipientID, limit,
		func(rows *sql.Rows) (AccountChoice, error) {
			var c AccountChoice
			err := rows.Scan(&c.AccountID, &c.RecipientID, &c.RecipientName, &c.Masked, &c.Country, &c.Currency)
			return c, err
		})
}
