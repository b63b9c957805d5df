package payout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"countersign/card"
	"countersign/fail"
	"countersign/smartglocal"
	"countersign/store"
)

// Refusals of a saved-card change.
var (
	ErrOwnCard        = fail.New(fail.Forbidden, "own_card", "You added this card, so someone else must verify it")
	ErrCardChanged    = fail.New(fail.Conflict, "card_changed", "This card was already verified or removed")
	ErrCardNotFound   = fail.New(fail.NotFound, "card_not_found", "There is no such card")
	errCardNotAllowed = fail.New(fail.Forbidden, "card_not_allowed", "Only makers and approvers can verify or remove saved cards and bank accounts")
	errCardUnknown    = fail.New(fail.Conflict, "card_unknown", "The provider no longer knows this card: remove it and save it again")
	// ErrProviderUnavailable: the provider did not answer a call that moves
	// no money, so asking again later is safe.
	ErrProviderUnavailable = fail.New(fail.Unavailable, "provider_unavailable", "The provider did not answer. Try again in a minute.")
)

// AddCard saves, for a recipient, a card that the provider's tokenization
// widget stored: numberHash is what the widget returned. Last4 and brand come
// from token/info, never from the browser. The card cannot be used until a
// second person verifies it (VerifyCard). Field problems are *fail.FieldError
// (recipient_id, number_hash).
func (s *Service) AddCard(ctx context.Context, a Actor, recipientID int64, numberHash string) (*store.Card, error) {
	if a.UserID <= 0 || !slices.Contains(a.Roles, RoleMaker) {
		return nil, ErrNotMaker
	}
	numberHash = strings.TrimSpace(numberHash)
	if err := checkNumberHash(numberHash); err != nil {
		return nil, err
	}
	if _, err := s.db.RecipientByID(ctx, recipientID); errors.Is(err, store.ErrNotFound) {
		return nil, fail.Field("recipient_id", "Choose a recipient")
	} else if err != nil {
		return nil, err
	}
	info, err := s.tokenInfo(ctx, numberHash)
	if err != nil {
		return nil, err
	}
	c := &store.Card{RecipientID: recipientID, NumberHash: numberHash, Last4: info.Last4, Brand: info.Brand, AddedBy: a.UserID}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateCard(ctx, c); err != nil {
			return err
		}
		return tx.Audit(ctx, cardAudit(a, "card.add", c, fmt.Sprintf("%s for recipient #%d", card.Label(c.Brand, c.Last4), recipientID)))
	})
	if errors.Is(err, store.ErrCardExists) {
		return nil, fail.Field("number_hash", "This card is already saved for the recipient")
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkNumberHash refuses what cannot be a card token.
func checkNumberHash(numberHash string) error {
	if numberHash == "" || len(numberHash) > 256 || strings.ContainsFunc(numberHash, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fail.Field("number_hash", "Save the card with the card widget first")
	}
	return nil
}

// tokenInfo asks the provider what card a token stands for. A token it
// does not know is a *fail.FieldError on number_hash.
func (s *Service) tokenInfo(ctx context.Context, numberHash string) (*smartglocal.TokenInfo, error) {
	cctx, cancel := s.callCtx(ctx)
	info, err := s.sg.TokenInfo(cctx, smartglocal.TokenInfoRequest{Type: "card",
		Card: &smartglocal.Card{Type: "encrypted_card", EncryptedCard: &smartglocal.EncryptedCard{NumberHash: numberHash}}})
	cancel()
	var pe *smartglocal.Error
	switch {
	case errors.As(err, &pe):
		return nil, fail.Field("number_hash", "The provider does not know this card. Save it with the card widget again")
	case err != nil:
		return nil, fmt.Errorf("token/info: %w: %w", ErrProviderUnavailable, err)
	}
	return info, nil
}

// CardInfo says which card a token from the card widget stands for, as the
// provider's token/info tells (never as the browser says): brand and last
// four digits. Only makers ask, before they save the card.
func (s *Service) CardInfo(ctx context.Context, a Actor, numberHash string) (brand, last4 string, err error) {
	if a.UserID <= 0 || !slices.Contains(a.Roles, RoleMaker) {
		return "", "", ErrNotMaker
	}
	numberHash = strings.TrimSpace(numberHash)
	if err := checkNumberHash(numberHash); err != nil {
		return "", "", err
	}
	info, err := s.tokenInfo(ctx, numberHash)
	if err != nil {
		return "", "", err
	}
	return info.Brand, info.Last4, nil
}

// RefreshCard asks token/info again what a saved card is. If the provider
// now reports another last4 or brand, the card is updated and must be
// verified again by someone other than the person who added it.
func (s *Service) RefreshCard(ctx context.Context, a Actor, cardID int64) error {
	if err := CheckDestinationChange(a); err != nil {
		return err
	}
	c, err := s.db.CardByID(ctx, cardID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrCardNotFound
	} else if err != nil {
		return err
	}
	cctx, cancel := s.callCtx(ctx)
	info, err := s.sg.TokenInfo(cctx, smartglocal.TokenInfoRequest{Type: "card",
		Card: &smartglocal.Card{Type: "encrypted_card", EncryptedCard: &smartglocal.EncryptedCard{NumberHash: c.NumberHash}}})
	cancel()
	var pe *smartglocal.Error
	switch {
	case errors.As(err, &pe):
		return errCardUnknown
	case err != nil:
		return fmt.Errorf("token/info: %w: %w", ErrProviderUnavailable, err)
	}
	changed := info.Last4 != c.Last4 || !strings.EqualFold(info.Brand, c.Brand)
	detail := "unchanged: " + card.Label(c.Brand, c.Last4)
	if changed {
		detail = fmt.Sprintf("was %s, now %s; must be verified again", card.Label(c.Brand, c.Last4), card.Label(info.Brand, info.Last4))
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if changed {
			if err := tx.UpdateCardInfo(ctx, c.ID, info.Last4, info.Brand, true); errors.Is(err, store.ErrConflict) {
				return ErrCardChanged
			} else if err != nil {
				return err
			}
		}
		return tx.Audit(ctx, cardAudit(a, "card.refresh", c, detail))
	})
}

// RecipientCard returns the saved card cardID of the recipient; a card of
// another recipient is not found here, whatever its id.
func (s *Service) RecipientCard(ctx context.Context, recipientID, cardID int64) (*store.Card, error) {
	c, err := s.db.CardByID(ctx, cardID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.RecipientID != recipientID) {
		return nil, ErrCardNotFound
	}
	return c, err
}

// CheckDestinationChange returns why a may not verify, refresh or remove
// saved cards and bank accounts, or nil: only makers and approvers may.
func CheckDestinationChange(a Actor) error {
	if a.UserID <= 0 || !(slices.Contains(a.Roles, RoleMaker) || slices.Contains(a.Roles, RoleApprover)) {
		return errCardNotAllowed
	}
	return nil
}

// checkVerify is the four-eyes rule of saved destinations, cards and bank
// accounts alike, and its only statement: the person who added one never
// verifies it, whatever roles they hold, and only one that waits (not
// verified, not removed) can be verified. own and changed are the refusals
// that name the kind of destination.
func checkVerify(a Actor, addedBy int64, waiting bool, own, changed *fail.Error) error {
	switch err := CheckDestinationChange(a); {
	case err != nil:
		return err
	case addedBy == a.UserID:
		return own
	case !waiting:
		return changed
	}
	return nil
}

// CheckVerifyCard returns why a may not verify c, or nil (checkVerify).
func CheckVerifyCard(a Actor, c *store.Card) error {
	return checkVerify(a, c.AddedBy, !c.Verified() && !c.Removed(), ErrOwnCard, ErrCardChanged)
}

// VerifyCard records a second person's check of a saved card (CheckVerifyCard).
func (s *Service) VerifyCard(ctx context.Context, a Actor, cardID int64) error {
	return s.changeCard(ctx, a, cardID, "card.verify", func(tx *store.Tx, me Actor, c *store.Card) error {
		if err := CheckVerifyCard(me, c); err != nil {
			return err
		}
		// Verifying is a decision: it needs the verifier's second factor.
		if !a.StepUp.Covers(a.UserID) {
			return ErrStepUp
		}
		return tx.VerifyCard(ctx, cardID, a.UserID)
	})
}

// RemoveCard takes a saved card out of use; payouts made with it keep it.
func (s *Service) RemoveCard(ctx context.Context, a Actor, cardID int64) error {
	return s.changeCard(ctx, a, cardID, "card.remove", func(tx *store.Tx, _ Actor, _ *store.Card) error { return tx.RemoveCard(ctx, cardID, a.UserID) })
}

// changeCard runs change on the card, as tx sees it, with its audit entry.
// Who is changing it is read in the same transaction (CheckDestinationChange
// on their roles as the database has them). Refusals of the four-eyes rule,
// of the roles and of a missing second factor are audited too.
func (s *Service) changeCard(ctx context.Context, a Actor, cardID int64, action string, change func(tx *store.Tx, me Actor, c *store.Card) error) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		me, err := decider(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := CheckDestinationChange(me); err != nil {
			return err
		}
		c, err := tx.CardByID(ctx, cardID)
		if err != nil {
			return err
		}
		if err := change(tx, me, c); err != nil {
			return err
		}
		return tx.Audit(ctx, cardAudit(a, action, c, card.Label(c.Brand, c.Last4)))
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrCardNotFound
	case errors.Is(err, store.ErrConflict):
		return ErrCardChanged
	}
	s.auditRefusal(ctx, a, action, "card", cardID, err)
	return err
}

// auditRefusal records a refused change to a saved destination (objectType
// "card" or "bank_account") when err is a refusal of the person: not theirs
// to verify, not their role, or no second factor.
func (s *Service) auditRefusal(ctx context.Context, a Actor, action, objectType string, id int64, err error) {
	var fe *fail.Error
	if errors.As(err, &fe) && fe.Kind == fail.Forbidden {
		s.logDenied(ctx, a, action, objectType, id, fe)
	}
}

// logDenied records, in its own transaction, a refused change to a saved
// destination (objectType "card" or "bank_account").
func (s *Service) logDenied(ctx context.Context, a Actor, action, objectType string, id int64, e *fail.Error) {
	entry := a.audit(action, 0, "denied", e.Code)
	entry.ObjectType, entry.ObjectID = objectType, fmt.Sprint(id)
	if err := s.db.Audit(context.WithoutCancel(ctx), entry); err != nil {
		s.log.Error("audit a refusal", "action", action, objectType, id, "err", err)
	}
}

func cardAudit(a Actor, action string, c *store.Card, detail string) store.AuditEntry {
	e := a.audit(action, 0, "ok", detail)
	e.ObjectType, e.ObjectID = "card", fmt.Sprint(c.ID)
	return e
}
