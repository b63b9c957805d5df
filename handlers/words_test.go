package handlers

import (
	"testing"
	"time"

	"countersign/store"
	"countersign/views"
)

// TestEventsInWords: the audit entries the issue found in the timeline and
// the audit log read as words, with people by name and amounts in major
// units; the stored entry stays available as the code.
func TestEventsInWords(t *testing.T) {
	w := wording{names: map[string]string{"alex@example.com": "Alex Approver", "mia@example.com": "Mia Maker"}}
	for _, tc := range []struct {
		e                       store.AuditEntry
		who, what, detail, tone string
	}{
		{store.AuditEntry{Actor: "mia@example.com", Action: "provider.session/start/payout", Outcome: "ok",
			Detail: "session in_progress, payout in_progress; payout awaiting_provider"},
			"Mia Maker", "Sent the payout to Smart Glocal", "Now: Smart Glocal is checking it", ""},
		{store.AuditEntry{Actor: "ALEX@example.com", Action: "payout.approve", Outcome: "ok", Detail: "approval 1 of 2 for version 4"},
			"Alex Approver", "Approved", "Approval 1 of 2: another approver must approve it too", ""},
		{store.AuditEntry{Actor: "alex@example.com", Action: "payout.approve", Outcome: "ok", Detail: "approval 1 of 1 for version 4; policy met, confirming"},
			"Alex Approver", "Approved", "Approval 1 of 1: enough approvals, so Smart Glocal is asked to pay", ""},
		{store.AuditEntry{Actor: "alex@example.com", Action: "payout.approve", Outcome: "denied", Detail: "not_pending"},
			"Alex Approver", "Tried to approve", "Refused: This payout is no longer waiting for approval", "bad"},
		{store.AuditEntry{Actor: "alex@example.com", Action: "payout.cancel", Outcome: "denied", Detail: "reason_required"},
			"Alex Approver", "Tried to cancel", "Refused: Give a reason for cancelling this payout", "bad"},
		{store.AuditEntry{Actor: "alex@example.com", Action: "payout.cancel", Outcome: "denied", Detail: "reason_too_long"}, // an older log's code
			"Alex Approver", "Tried to cancel", "Refused: The reason was longer than 500 characters", "bad"},
		{store.AuditEntry{Actor: "alex@example.com", Action: "payout.cancel", Outcome: "ok", Detail: "reason: Wrong card"},
			"Alex Approver", "Cancelled", "Reason: “Wrong card”", ""},
		{store.AuditEntry{Actor: "admin@example.com", Action: "policy.update", Outcome: "ok", Detail: "thresholds EUR=0,USD=100000"},
			"admin@example.com", "Changed the approval policy", "Two approvers from 0.00 EUR; 1,000.00 USD", ""},
		{store.AuditEntry{Actor: "provider", Action: "webhook.payment_finished", Outcome: "stale", Detail: "session accepted, payout succeeded; payout stays succeeded"},
			"Smart Glocal", "Smart Glocal: payment finished", "Old news, nothing changed: the payout was already succeeded", "muted"},
		{store.AuditEntry{Actor: "provider", Action: "webhook.payment_finished", Outcome: "applied",
			Detail: "session cancelled, payout declined, error declined_by_issuer_bank; confirmed → failed"},
			"Smart Glocal", "Smart Glocal: payment finished", "Now: failed, nothing paid. Smart Glocal says the card issuer declined the payout", "bad"},
		{store.AuditEntry{Actor: "provider", Action: "webhook.payment_finished", Outcome: "applied", Detail: "session accepted, payout succeeded; confirmed → succeeded"},
			"Smart Glocal", "Smart Glocal: payment finished", "Now: paid", "ok"},
		{store.AuditEntry{Actor: "provider", Action: "webhook.ready_to_confirm", Outcome: "flagged", Detail: "provider says 123450 USD, we have 1200 USD"},
			"Smart Glocal", "Smart Glocal: ready to be confirmed", "Flagged for a person to look at: provider says 1,234.50 USD, we have 12.00 USD", "bad"},
		{store.AuditEntry{Actor: "system", Action: "payout.reconcile", Outcome: "ok", Detail: "session accepted, payout succeeded; unknown → succeeded"},
			"Countersign", "Checked with Smart Glocal", "Now: paid", "ok"},
		{store.AuditEntry{Actor: "mia@example.com", Action: "provider.session/confirm", Outcome: "refused", Detail: "payout pending_approval; insufficient_wallet_balance"},
			"Mia Maker", "Asked Smart Glocal to pay", "Smart Glocal refused: the wallet balance does not cover the payout. Now: waiting for approval", "bad"},
		{store.AuditEntry{Actor: "mia@example.com", Action: "notify.preferences", Outcome: "ok", Detail: "opted out of payout_succeeded"},
			"Mia Maker", "Changed their notifications", "Not told: My payout succeeded", ""},
		{store.AuditEntry{Actor: "mia@example.com", Action: "some.new_thing", Outcome: "ok", Detail: "as it was"},
			"Mia Maker", "Some new thing", "As it was", ""},
	} {
		ev := w.event(tc.e, views.Clock{Loc: time.UTC})
		if ev.Who != tc.who || ev.What != tc.what || ev.Detail != tc.detail || ev.Tone != tc.tone {
			t.Errorf("%s %s %q:\n got %q / %q / %q / %q\nwant %q / %q / %q / %q", tc.e.Action, tc.e.Outcome, tc.e.Detail,
				ev.Who, ev.What, ev.Detail, ev.Tone, tc.who, tc.what, tc.detail, tc.tone)
		}
		if want := tc.e.Action + " · " + tc.e.Outcome + " · " + tc.e.Detail; ev.Code != want {
			t.Errorf("code %q, want the entry as stored %q", ev.Code, want)
		}
	}
}
