package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"countersign/notify/notifytest"
	"countersign/payout"
)

func TestNotificationConfig(t *testing.T) {
	const secret = "hunter2-secret"
	vars := map[string]string{
		"COUNTERSIGN_SMTP_URL":           "smtp://mailer:" + secret + "@mail.example.com:587",
		"COUNTERSIGN_MAIL_FROM":          "Countersign <payouts@example.com>",
		"COUNTERSIGN_NOTIFY_WEBHOOK_URL": "https://hooks.example.com/services/" + secret,
	}
	c, err := parseConfig(nil, env(vars), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Email == nil || c.NotifyWebhook == nil {
		t.Fatalf("channels from the environment: email %v, webhook %v", c.Email, c.NotifyWebhook)
	}
	if c, err := parseConfig(nil, env(nil), &bytes.Buffer{}); err != nil || c.Email != nil || c.NotifyWebhook != nil {
		t.Errorf("no notification settings: %+v, %v; want no channels", c, err)
	}

	var help bytes.Buffer
	parseConfig([]string{"-h"}, env(vars), &help)
	if strings.Contains(help.String(), secret) || !strings.Contains(help.String(), "COUNTERSIGN_SMTP_URL") {
		t.Errorf("-h shows a secret from the environment, or not the variable:\n%s", help.String())
	}

	for name, bad := range map[string]map[string]string{
		"no From":   {"COUNTERSIGN_SMTP_URL": vars["COUNTERSIGN_SMTP_URL"]},
		"not SMTP":  {"COUNTERSIGN_SMTP_URL": "imap://mailer:" + secret + "@mail.example.com", "COUNTERSIGN_MAIL_FROM": "a@example.com"},
		"not a URL": {"COUNTERSIGN_NOTIFY_WEBHOOK_URL": "hooks.example.com/" + secret},
		"bad From":  {"COUNTERSIGN_MAIL_FROM": "not an address", "COUNTERSIGN_SMTP_URL": vars["COUNTERSIGN_SMTP_URL"]},
	} {
		_, err := parseConfig(nil, env(bad), &bytes.Buffer{})
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error repeats a secret: %v", name, err)
		}
	}
}

// TestApproversToldByTheRunningConsole: the console as `countersign` wires
// it (configuration, embedded sandbox, background workers) emails the
// approvers and posts to the chat when a payout enters the queue, with links
// to where the console listens when no public URL is set.
func TestApproversToldByTheRunningConsole(t *testing.T) {
	mail := notifytest.StartSMTP(t)
	chat := notifytest.StartWebhook(t)
	cfg, err := parseConfig([]string{"-db", filepath.Join(t.TempDir(), "c.db")}, env(map[string]string{
		"COUNTERSIGN_SMTP_URL": mail.URL(), "COUNTERSIGN_MAIL_FROM": "payouts@example.com",
		"COUNTERSIGN_NOTIFY_WEBHOOK_URL": chat.URL, "COUNTERSIGN_SANDBOX_WEBHOOK_DELAY": "10ms",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Email.TLSConfig = mail.ClientTLS // trust the test server's own certificate

	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	a, err := newApp(context.Background(), cfg, discardLogger(), srv.URL+webhookPath)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	handler.Store(&a.handler)
	ctx, stop := context.WithCancel(context.Background())
	a.background(ctx, cfg)
	// The workers write beside the database until they stop (the audit
	// checkpoint at shutdown): wait for them before the directory goes.
	defer func() {
		stop()
		if err := a.wait(context.Background()); err != nil {
			t.Error(err)
		}
	}()

	maker, err := a.db.UserByEmail(ctx, "maker@example.com")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.payouts.Submit(ctx, payout.Actor{UserID: maker.ID, Email: maker.Email, Roles: []payout.Role{payout.RoleMaker}},
		payout.Draft{FullName: "Jo Doe", Amount: "12.00", Currency: "USD", CardNumber: "4242 4242 4242 4242"})
	if err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("%s/payouts/%d", srv.URL, p.ID)
	var to []string
	for _, m := range mail.WaitMails(t, 2) {
		to = append(to, m.To...)
		if !strings.Contains(m.Body, link) || !strings.Contains(m.Subject, "waits for approval") {
			t.Errorf("email to %v: subject %q, body without %s:\n%s", m.To, m.Subject, link, m.Body)
		}
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"approver1@example.com", "approver2@example.com"}) {
		t.Errorf("emails went to %v; want the demo approvers", to)
	}
	if h := chat.WaitHooks(t, 1)[0]; !strings.Contains(h.Text, link) {
		t.Errorf("chat message %q lacks the link", h.Text)
	}
}
