package admin

import (
	"context"
	"strings"
	"testing"

	"countersign/notify"
	"countersign/notify/notifytest"
)

// TestOtherAdminsAreToldAChangeWaits: a proposal tells every other admin,
// in the transaction that records it, never the proposer.
func TestOtherAdminsAreToldAChangeWaits(t *testing.T) {
	f := newFixture(t)
	smtp := notifytest.StartSMTP(t)
	email, err := notify.ParseEmail(smtp.URL(), "console@example.com")
	if err != nil {
		t.Fatal(err)
	}
	email.TLSConfig = smtp.ClientTLS
	n := notify.New(notify.Config{DB: f.db, Email: email, PublicURL: "https://console.example"})
	f.s = New(f.db, nil, n)
	if _, err := f.s.ProposeUser(context.Background(), f.ann, NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"approver"}}); err != nil {
		t.Fatal(err)
	}
	if err := n.SendOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	mails := smtp.WaitMails(t, 1)
	if len(mails) != 1 || strings.Join(mails[0].To, ",") != "ben@example.com" || !strings.Contains(mails[0].Subject, "admin change waits") ||
		!strings.Contains(mails[0].Body, "https://console.example/admin/changes") || !strings.Contains(mails[0].Body, "create Ivy") {
		t.Errorf("mails %+v; want one to Ben (not the proposer) linking to the changes page", mails)
	}
}
