package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"countersign/fail"
)

// Refusals of a saved-card change.
var (
	// ErrCardExists: the recipient already has this card.
	ErrCardExists = fail.New(fail.Conflict, "card_exists", "This card is already saved for the recipient")
)

// Card is a recipient's card saved at the provider. We keep only the
// provider's number_hash (its token for the card) and last4 and brand from
// token/info: never the card number.
type Card struct {
	ID          int64
	RecipientID int64
	NumberHash  string
	Last4       string
	Brand       string
	AddedBy     int64
	AddedAt     time.Time
	VerifiedBy  int64
	VerifiedAt  time.Time
	RemovedBy   int64
	RemovedAt   time.Time
}

// Verified reports whether a second person confirmed the card.
func (c *Card) Verified() bool { return !c.VerifiedAt.IsZero() }

// Removed reports whether the card was taken out of use.
func (c *Card) Removed() bool { return !c.RemovedAt.IsZero() }

const cardColumns = `id, recipient_id, number_hash, last4, brand, added_by, added_at, coalesce(verified_by, 0), verified_at, coalesce(removed_by, 0), removed_at`

func scanCard(row interface{ Scan(...any) error }) (*Card, error) {
	var c Card
	var added string
	var verified, removed sql.NullString
	err := row.Scan(&c.ID, &c.RecipientID, &c.NumberHash, &c.Last4, &c.Brand, &c.AddedBy, &added, &c.VerifiedBy, &verified, &c.RemovedBy, &removed)
	if err != nil {
		return nil, asNotFound(err, "card")
	}
	c.AddedAt, c.VerifiedAt, c.RemovedAt = parseTime(added), nullTime(verified), nullTime(removed)
	return &c, nil
}

// asNotFound turns sql.ErrNoRows into the refusal that there is no such what.
func asNotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what)
	}
	return err
}

// CreateCard saves a card for a recipient, unverified.
func (t *Tx) CreateCard(ctx context.Context, c *Card) error {
	c.AddedAt = t.now
	err := t.tx.QueryRowContext(ctx, `INSERT INTO cards (recipient_id, number_hash, last4, brand, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?)
		RETURNING id`, c.RecipientID, c.NumberHash, c.Last4, c.Brand, c.AddedBy, formatTime(t.now)).Scan(&c.ID)
	if isUniqueViolation(err) {
		return ErrCardExists
	}
	if err != nil {
		return fmt.Errorf("create card: %w", err)
	}
	return nil
}

func cardByID(ctx context.Context, q querier, id int64) (*Card, error) {
	return scanCard(q.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM cards WHERE id = ?`, id))
}

// CardByID returns one card, removed or not.
func (d *DB) CardByID(ctx context.Context, id int64) (*Card, error) { return cardByID(ctx, d.db, id) }

// CardByID returns one card as this transaction sees it.
func (t *Tx) CardByID(ctx context.Context, id int64) (*Card, error) { return cardByID(ctx, t.tx, id) }

// VerifyCard records that userID checked the card. Who may is the payout
// service's rule (payout.CheckVerifyCard); here a card verified or removed
// meanwhile gives ErrConflict.
func (t *Tx) VerifyCard(ctx context.Context, cardID, userID int64) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE cards SET verified_by = ?, verified_at = ? WHERE id = ? AND verified_at IS NULL AND removed_at IS NULL`,
		userID, formatTime(t.now), cardID)
	if err != nil {
		return fmt.Errorf("verify card: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := t.CardByID(ctx, cardID); err != nil {
			return err
		}
		return ErrConflict
	}
	return nil
}

// RemoveCard takes a card out of use. Its row stays: payouts refer to it.
func (t *Tx) RemoveCard(ctx context.Context, cardID, userID int64) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE cards SET removed_by = ?, removed_at = ? WHERE id = ? AND removed_at IS NULL`,
		userID, formatTime(t.now), cardID)
	if err != nil {
		return fmt.Errorf("remove card: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := t.CardByID(ctx, cardID); err != nil {
			return err
		}
		return ErrConflict
	}
	return nil
}

// CardsForRecipient returns a recipient's cards that are not removed, oldest first.
func (d *DB) CardsForRecipient(ctx context.Context, recipientID int64) ([]*Card, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+cardColumns+` FROM cards WHERE recipient_id = ? AND removed_at IS NULL ORDER BY id`, recipientID)
	if err != nil {
		return nil, fmt.Errorf("cards: %w", err)
	}
	defer rows.Close()
	var out []*Card
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateCardInfo records what token/info now says of a card. A card whose
// number changed behind its token is no longer the card someone verified, so
// unverify clears the verification and four eyes must look again.
func (t *Tx) UpdateCardInfo(ctx context.Context, cardID int64, last4, brand string, unverify bool) error {
	q := `UPDATE cards SET last4 = ?, brand = ? WHERE id = ? AND removed_at IS NULL`
	if unverify {
		q = `UPDATE cards SET last4 = ?, brand = ?, verified_by = NULL, verified_at = NULL WHERE id = ? AND removed_at IS NULL`
	}
	res, err := t.tx.ExecContext(ctx, q, last4, brand, cardID)
	if err != nil {
		return fmt.Errorf("update card: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}
