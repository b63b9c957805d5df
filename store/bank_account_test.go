package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestBankAccounts(t *testing.T) {
	db := openCardTestDB(t)
	ctx := context.Background()
	adder, checker := cardTestUser(t, db, "a@example.com"), cardTestUser(t, db, "b@example.com")
	tx := func(fn func(tx *Tx) error) error { return db.InTx(ctx, fn) }
	var r, other Recipient
	newAccount := func(recipientID int64, identity string) *BankAccount {
		return &BankAccount{RecipientID: recipientID, Country: "GBR", Currency: "GBP", Scheme: "sort_code", BankName: "Barclays",
			FirstName: "Jane", LastName: "Smith", Details: map[string]string{"sort_code": "20-00-00", "account_number": "55779911"},
			Masked: "Barclays ••••9911", Identity: identity, AddedBy: adder}
	}
	a := newAccount(0, "GBR|sort_code|20-00-00|55779911")
	err := tx(func(tx *Tx) error {
		r = Recipient{FullName: "Jane Smith", CreatedBy: adder}
		other = Recipient{FullName: "Al Other", CreatedBy: adder}
		if err := tx.CreateRecipient(ctx, &r); err != nil {
			return err
		}
		if err := tx.CreateRecipient(ctx, &other); err != nil {
			return err
		}
		a.RecipientID = r.ID
		return tx.CreateBankAccount(ctx, a)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.BankAccountByID(ctx, a.ID)
	if err != nil || got.Verified() || got.Removed() || got.AddedAt.IsZero() || !reflect.DeepEqual(got.Details, a.Details) ||
		got.Masked != a.Masked || got.Holder() != "Jane Smith" || got.Identity != a.Identity {
		t.Fatalf("saved account %+v, %v", got, err)
	}
	if err := tx(func(tx *Tx) error { return tx.CreateBankAccount(ctx, newAccount(r.ID, a.Identity)) }); !errors.Is(err, ErrAccountExists) {
		t.Errorf("same account twice: %v; want ErrAccountExists", err)
	}
	if err := tx(func(tx *Tx) error { return tx.CreateBankAccount(ctx, newAccount(other.ID, a.Identity)) }); err != nil {
		t.Errorf("the same account for another recipient: %v", err)
	}
	if ps, err := db.PayableAccounts(ctx, 0, 0); err != nil || len(ps) != 0 {
		t.Errorf("payable before verification: %v, %v", ps, err)
	}
	if err := tx(func(tx *Tx) error { return tx.VerifyBankAccount(ctx, a.ID, checker) }); err != nil {
		t.Fatal(err)
	}
	if err := tx(func(tx *Tx) error { return tx.VerifyBankAccount(ctx, a.ID, checker) }); !errors.Is(err, ErrConflict) {
		t.Errorf("verify twice: %v; want ErrConflict", err)
	}
	if err := tx(func(tx *Tx) error { return tx.VerifyBankAccount(ctx, 999, checker) }); !errors.Is(err, ErrNotFound) {
		t.Errorf("verify a missing account: %v; want ErrNotFound", err)
	}
	ps, err := db.PayableAccounts(ctx, r.ID, 10)
	want := []AccountChoice{{AccountID: a.ID, RecipientID: r.ID, RecipientName: "Jane Smith", Masked: "Barclays ••••9911", Country: "GBR", Currency: "GBP"}}
	if err != nil || !reflect.DeepEqual(ps, want) {
		t.Errorf("payable accounts = %+v, %v", ps, err)
	}

	if err := tx(func(tx *Tx) error { return tx.RemoveBankAccount(ctx, a.ID, checker) }); err != nil {
		t.Fatal(err)
	}
	if err := tx(func(tx *Tx) error { return tx.RemoveBankAccount(ctx, a.ID, checker) }); !errors.Is(err, ErrConflict) {
		t.Errorf("remove twice: %v; want ErrConflict", err)
	}
	if list, err := db.BankAccountsForRecipient(ctx, r.ID); err != nil || len(list) != 0 {
		t.Errorf("accounts after removal: %v, %v", list, err)
	}
	// Removed, it may be saved again (and checked again by four eyes).
	again := newAccount(r.ID, a.Identity)
	if err := tx(func(tx *Tx) error { return tx.CreateBankAccount(ctx, again) }); err != nil || again.ID == a.ID {
		t.Errorf("save a removed account again: %v", err)
	}
}

func TestRecordReturn(t *testing.T) {
	db := openCardTestDB(t)
	ctx := context.Background()
	maker := cardTestUser(t, db, "m@example.com")
	p := &Payout{State: "succeeded", MakerID: maker, FullName: "Jane Smith", Amount: 100, Currency: "GBP", Method: "bank_account",
		AccountLabel: "Barclays ••••0000", AccountCountry: "GBR", Purpose: "SALARY_PAYMENT"}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.CreatePayout(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	stale := *p
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.RecordReturn(ctx, p, maker, "2026-11-21", "Account closed") }); err != nil {
		t.Fatal(err)
	}
	got, err := db.PayoutByID(ctx, p.ID)
	if err != nil || !got.Returned() || got.ReturnedOn != "2026-11-21" || got.ReturnReason != "Account closed" || got.ReturnedBy != maker ||
		got.Version != 2 || got.State != "succeeded" || got.Method != "bank_account" || got.AccountLabel != "Barclays ••••0000" {
		t.Errorf("returned payout %+v, %v", got, err)
	}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.RecordReturn(ctx, &stale, maker, "2026-11-21", "again") }); !errors.Is(err, ErrConflict) {
		t.Errorf("a second return: %v; want ErrConflict", err)
	}
}

func TestPayoutFilterMethodAndCountry(t *testing.T) {
	db := openCardTestDB(t)
	ctx := context.Background()
	maker := cardTestUser(t, db, "m@example.com")
	add := func(method, country string) int64 {
		p := &Payout{State: "succeeded", MakerID: maker, FullName: "R", Amount: 100, Currency: "GBP", Method: method, AccountCountry: country}
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.CreatePayout(ctx, p) }); err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	card, uk, us := add("", ""), add("bank_account", "GBR"), add("bank_account", "USA")
	for _, tc := range []struct {
		f    PayoutFilter
		want []int64
	}{
		{PayoutFilter{Method: "card"}, []int64{card}},
		{PayoutFilter{Method: "bank_account"}, []int64{us, uk}},
		{PayoutFilter{Country: "gbr"}, []int64{uk}},
		{PayoutFilter{Method: "bank_account", Country: "USA"}, []int64{us}},
		{PayoutFilter{Returned: NotReturned}, []int64{us, uk, card}},
		{PayoutFilter{Returned: OnlyReturned}, nil},
	} {
		rows, err := db.Payouts(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range rows {
			got = append(got, r.ID)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
		}
	}
}
