package sandbox_test

import (
	"context"
	"path/filepath"
	"testing"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
)

// TestStateSurvivesRestart: a sandbox started again over its state file
// still knows its sessions, stored cards, wallets and replies.
func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "state.json")
	first, client := sandboxtest.New(t, sandbox.Config{StateFile: file})
	waiting, err := client.InitPayout(ctx, initReq(okPAN, 1500), "key-waiting")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the payout to wait for a confirm", func() bool {
		s, err := client.Status(ctx, waiting.ID)
		return err == nil && s.Payout().Status == sg.PaymentPending
	})
	paid, err := client.InitPayout(ctx, initReq(okPAN, 2500), "key-paid")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second payout to wait", func() bool {
		s, err := client.Status(ctx, paid.ID)
		return err == nil && s.Payout().Status == sg.PaymentPending
	})
	if _, err := client.Confirm(ctx, paid.ID, "key-confirm"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second payout to succeed", func() bool {
		s, err := client.Status(ctx, paid.ID)
		return err == nil && s.Payout().Status == sg.PaymentSucceeded
	})
	hash, err := first.Tokenize("5555555555554444")
	if err != nil {
		t.Fatal(err)
	}
	balance := first.Balance("usd")
	first.Close()

	second, client := sandboxtest.New(t, sandbox.Config{StateFile: file, PartnerPublicKey: &first.PartnerKey.PublicKey})
	client = sg.New(second.ClientConfig(first.PartnerKey))
	if got := second.Balance("usd"); got != balance {
		t.Errorf("balance after restart %d, want %d", got, balance)
	}
	s, err := client.Status(ctx, waiting.ID)
	if err != nil || s.Payout().Status != sg.PaymentPending {
		t.Fatalf("session/status after restart: %+v, %v; want the payout still pending", s, err)
	}
	again, err := client.InitPayout(ctx, initReq(okPAN, 1500), "key-waiting")
	if err != nil || again.ID != waiting.ID {
		t.Errorf("replay under the same key after restart: %v, %v; want session %s", again, err, waiting.ID)
	}
	if _, err := client.Confirm(ctx, waiting.ID, "key-confirm-2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the waiting payout to succeed after restart", func() bool {
		s, err := client.Status(ctx, waiting.ID)
		return err == nil && s.Payout().Status == sg.PaymentSucceeded
	})
	info, err := client.TokenInfo(ctx, sg.TokenInfoRequest{Type: "card", Card: &sg.Card{Type: "encrypted_card", EncryptedCard: &sg.EncryptedCard{NumberHash: hash}}})
	if err != nil || info.Last4 != "4444" {
		t.Errorf("token/info after restart: %+v, %v", info, err)
	}
	if got := second.Balance("usd"); got != balance-1500 {
		t.Errorf("balance after paying the second time %d, want %d", got, balance-1500)
	}
}
