package payout

import (
	"context"
	"testing"

	"countersign/store"
)

// TestRefreshCard: an unchanged card keeps its verification; a card whose
// token/info no longer matches what we stored is corrected and must be
// verified again.
func TestRefreshCard(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	hash, err := e.sb.Tokenize(visa)
	if err != nil {
		t.Fatal(err)
	}
	r := store.Recipient{FullName: "John Johnson", CreatedBy: e.maker.UserID}
	if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRecipient(ctx, &r) }); err != nil {
		t.Fatal(err)
	}
	card, err := e.s().AddCard(ctx, e.maker, r.ID, hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s().VerifyCard(ctx, e.approvers[0], card.ID); err != nil {
		t.Fatal(err)
	}

	if err := e.s().RefreshCard(ctx, e.approvers[1], card.ID); err != nil {
		t.Fatalf("refresh unchanged: %v", err)
	}
	got, _ := e.db.CardByID(ctx, card.ID)
	if !got.Verified() || got.Last4 != "4242" {
		t.Errorf("after refreshing an unchanged card: verified=%v last4=%s", got.Verified(), got.Last4)
	}

	// What we stored no longer matches the provider (as if the token now
	// stood for another card).
	if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateCardInfo(ctx, card.ID, "0000", "mastercard", false) }); err != nil {
		t.Fatal(err)
	}
	if err := e.s().RefreshCard(ctx, e.maker, card.ID); err != nil {
		t.Fatalf("refresh changed: %v", err)
	}
	got, _ = e.db.CardByID(ctx, card.ID)
	if got.Verified() || got.Last4 != "4242" || got.Brand != "visa" {
		t.Errorf("after refreshing a changed card: verified=%v %s %s; want unverified visa 4242", got.Verified(), got.Brand, got.Last4)
	}
	if n := len(e.audit(store.AuditFilter{Action: "card.refresh"})); n != 2 {
		t.Errorf("card.refresh audit entries = %d, want 2", n)
	}
}
