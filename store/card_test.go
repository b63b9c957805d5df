package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func openCardTestDB(t *testing.T) *DB {
	t.Helper()
	db, _ := openTest(t)
	return db
}

func cardTestUser(t *testing.T, db *DB, email string) int64 {
	t.Helper()
	u := &User{Email: email, Name: email, PasswordHash: "x", Roles: []string{"maker"}, Active: true}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestCardsFourEyes(t *testing.T) {
	db := openCardTestDB(t)
	ctx := context.Background()
	adder, checker := cardTestUser(t, db, "a@example.com"), cardTestUser(t, db, "b@example.com")
	var r Recipient
	var c Card
	err := db.InTx(ctx, func(tx *Tx) error {
		r = Recipient{FullName: "Jane Doe", CustomerReference: "ref-7", Email: "jane@example.com", Country: "GB", CreatedBy: adder}
		if err := tx.CreateRecipient(ctx, &r); err != nil {
			return err
		}
		c = Card{RecipientID: r.ID, NumberHash: "hash-1", Last4: "4242", Brand: "visa", AddedBy: adder}
		return tx.CreateCard(ctx, &c)
	})
	if err != nil {
		t.Fatal(err)
	}
	tx := func(fn func(tx *Tx) error) error { return db.InTx(ctx, fn) }
	if err := tx(func(tx *Tx) error {
		return tx.CreateCard(ctx, &Card{RecipientID: r.ID, NumberHash: "hash-1", Last4: "4242", Brand: "visa", AddedBy: checker})
	}); !errors.Is(err, ErrCardExists) {
		t.Errorf("same card twice: %v; want ErrCardExists", err)
	}
	got, err := db.CardByID(ctx, c.ID)
	if err != nil || got.Verified() || got.Removed() || got.Last4 != "4242" || got.AddedAt.IsZero() {
		t.Fatalf("new card %+v, %v", got, err)
	}
	if err := tx(func(tx *Tx) error { return tx.VerifyCard(ctx, c.ID, checker) }); err != nil {
		t.Fatal(err)
	}
	if err := tx(func(tx *Tx) error { return tx.VerifyCard(ctx, c.ID, checker) }); !errors.Is(err, ErrConflict) {
		t.Errorf("verify twice: %v; want ErrConflict", err)
	}
	got, _ = db.CardByID(ctx, c.ID)
	if !got.Verified() || got.VerifiedBy != checker {
		t.Errorf("verified card %+v", got)
	}
	cards, err := db.CardsForRecipient(ctx, r.ID)
	if err != nil || len(cards) != 1 {
		t.Errorf("CardsForRecipient = %v, %v", cards, err)
	}
	if err := tx(func(tx *Tx) error { return tx.RemoveCard(ctx, c.ID, checker) }); err != nil {
		t.Fatal(err)
	}
	if err := tx(func(tx *Tx) error { return tx.RemoveCard(ctx, c.ID, checker) }); !errors.Is(err, ErrConflict) {
		t.Errorf("remove twice: %v; want ErrConflict", err)
	}
	if err := tx(func(tx *Tx) error { return tx.RemoveCard(ctx, 999, checker) }); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove missing: %v; want ErrNotFound", err)
	}
	if cards, _ := db.CardsForRecipient(ctx, r.ID); len(cards) != 0 {
		t.Errorf("removed card still listed: %v", cards)
	}
	if _, err := db.CardByID(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("CardByID(missing) = %v; want ErrNotFound", err)
	}
}

func TestRecipients(t *testing.T) {
	db := openCardTestDB(t)
	ctx := context.Background()
	by := cardTestUser(t, db, "a@example.com")
	for _, r := range []Recipient{
		{FullName: "Zoe Zed", Email: "zoe@example.com", CreatedBy: by},
		{FullName: "adam 100%", CustomerReference: "ACME_1", CreatedBy: by},
		{FullName: "Bob Brown", CustomerReference: "acme-2", Country: "DE", CreatedBy: by},
	} {
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.CreateRecipient(ctx, &r) }); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		search string
		want   []string
	}{
		{"", []string{"adam 100%", "Bob Brown", "Zoe Zed"}},
		{"acme", []string{"adam 100%", "Bob Brown"}},
		{"ACME_", []string{"adam 100%"}},
		{"%", []string{"adam 100%"}},
		{"zoe@", []string{"Zoe Zed"}},
		{"nobody", nil},
		{"de", []string{"Bob Brown"}},
		{"BROWN", []string{"Bob Brown"}},
		{"me-", []string{"Bob Brown"}},
		{`b"r`, nil},
		{"example.com", []string{"Zoe Zed"}},
	}
	for _, tt := range tests {
		rs, err := db.Recipients(ctx, RecipientFilter{Search: tt.search})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.FullName)
		}
		if len(got) != len(tt.want) {
			t.Errorf("Recipients(%q) = %v; want %v", tt.search, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("Recipients(%q) = %v; want %v", tt.search, got, tt.want)
				break
			}
		}
	}
	if _, err := db.RecipientByID(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("RecipientByID(missing) = %v; want ErrNotFound", err)
	}
	// A search that matches few is read from the trigram index, not walked
	// through the whole book; one that matches many walks the book, which
	// fills a page soon. Both give the same page.
	var many []string
	if err := db.InTx(ctx, func(tx *Tx) error {
		for i := range fewMatches + 1 {
			r := Recipient{FullName: fmt.Sprintf("Many Common %04d", i), CreatedBy: by}
			many = append(many, r.FullName)
			if err := tx.CreateRecipient(ctx, &r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		search string
		want   []string
	}{{"brown", []string{"Bob Brown"}}, {"many common", many[:5]}, {"common 0007", many[7:8]}} {
		rs, err := db.Recipients(ctx, RecipientFilter{Search: tt.search, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.FullName)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Recipients(%q) = %v; want %v", tt.search, got, tt.want)
		}
	}
	if !db.Postgres() {
		for search, index := range map[string]bool{"brown": true, "common 0007": true, "many common": false} {
			from, cond, args, err := db.recipientSearch(ctx, search)
			if err != nil {
				t.Fatal(err)
			}
			q := `SELECT id FROM ` + from
			if cond != "" {
				q += ` WHERE ` + cond
			}
			plan := explain(t, db, q+` ORDER BY full_name COLLATE NOCASE, id LIMIT 200`, args...)
			if strings.Contains(plan, "recipient_search") != index {
				t.Errorf("search %q: reads the trigram index %v, want %v:\n%s", search, !index, index, plan)
			}
		}
	}
}

func TestSimilarPayouts(t *testing.T) {
	db := openCardTestDB(t)
	ctx := context.Background()
	maker := cardTestUser(t, db, "m@example.com")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	var cardID int64
	err := db.InTx(ctx, func(tx *Tx) error {
		r := Recipient{FullName: "R", CreatedBy: maker}
		if err := tx.CreateRecipient(ctx, &r); err != nil {
			return err
		}
		c := Card{RecipientID: r.ID, NumberHash: "h", Last4: "4242", Brand: "visa", AddedBy: maker}
		if err := tx.CreateCard(ctx, &c); err != nil {
			return err
		}
		cardID = c.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	add := func(state string, amount int64, card int64, last4 string, at time.Time) int64 {
		db.Now = func() time.Time { return at }
		p := &Payout{State: state, MakerID: maker, FullName: "R", Amount: amount, Currency: "USD", CardID: card, CardLast4: last4, CardBrand: "visa"}
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.CreatePayout(ctx, p) }); err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	typed := add("succeeded", 3290, 0, "4242", now.Add(-time.Hour))
	add("rejected", 3290, 0, "4242", now.Add(-time.Hour))     // rejected: not a duplicate
	add("succeeded", 3290, 0, "4242", now.Add(-25*time.Hour)) // too old
	add("succeeded", 3291, 0, "4242", now)                    // other amount
	add("succeeded", 3290, 0, "1111", now)                    // other card
	saved := add("pending_approval", 3290, cardID, "4242", now.Add(-time.Minute))
	since := now.Add(-24 * time.Hour)
	err = db.InTx(ctx, func(tx *Tx) error {
		got, err := tx.SimilarPayouts(ctx, since, &Payout{Amount: 3290, Currency: "USD", CardLast4: "4242", CardBrand: "visa"})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].ID != typed || got[0].MakerName != "m@example.com" {
			t.Errorf("typed card matches: %+v; want #%d", got, typed)
		}
		got, err = tx.SimilarPayouts(ctx, since, &Payout{Amount: 3290, Currency: "USD", CardID: cardID, CardLast4: "4242", CardBrand: "visa"})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].ID != saved {
			t.Errorf("saved card matches: %+v; want #%d", got, saved)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
