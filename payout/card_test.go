package payout

import (
	"context"
	"errors"
	"testing"
	"time"

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

// TestCheckVerifyCard is the four-eyes rule of saved cards, for every kind of
// person: the one who added the card never verifies it, whatever roles they hold.
func TestCheckVerifyCard(t *testing.T) {
	waiting := &store.Card{ID: 1, AddedBy: 7}
	verified := &store.Card{ID: 2, AddedBy: 7, VerifiedBy: 8, VerifiedAt: time.Now()}
	removed := &store.Card{ID: 3, AddedBy: 7, RemovedBy: 8, RemovedAt: time.Now()}
	for _, tc := range []struct {
		name string
		a    Actor
		c    *store.Card
		want error
	}{
		{"another maker", Actor{UserID: 8, Roles: []Role{RoleMaker}}, waiting, nil},
		{"an approver", Actor{UserID: 9, Roles: []Role{RoleApprover}}, waiting, nil},
		{"the adder", Actor{UserID: 7, Roles: []Role{RoleMaker}}, waiting, ErrOwnCard},
		{"the adder with every role", Actor{UserID: 7, Roles: AllRoles()}, waiting, ErrOwnCard},
		{"an admin", Actor{UserID: 9, Roles: []Role{RoleAdmin}}, waiting, errCardNotAllowed},
		{"an auditor", Actor{UserID: 9, Roles: []Role{RoleAuditor}}, waiting, errCardNotAllowed},
		{"nobody", Actor{Roles: []Role{RoleApprover}}, waiting, errCardNotAllowed},
		{"verified already", Actor{UserID: 9, Roles: []Role{RoleApprover}}, verified, ErrCardChanged},
		{"removed", Actor{UserID: 9, Roles: []Role{RoleApprover}}, removed, ErrCardChanged},
	} {
		if err := CheckVerifyCard(tc.a, tc.c); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}
}
