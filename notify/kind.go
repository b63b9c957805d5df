package notify

import "slices"

// Kind is what a notification is about. Each kind goes to the holders of one role.
type Kind string

// The kinds of notification. The values are stored (outbox, opt-outs): never rename one.
const (
	KindPayoutQueued    Kind = "payout_queued"    // to approvers: a payout entered the queue
	KindDeadlineSoon    Kind = "deadline_soon"    // to approvers: a payout in the queue is 30 minutes from its deadline
	KindPayoutSucceeded Kind = "payout_succeeded" // to the maker
	KindPayoutFailed    Kind = "payout_failed"    // to the maker: failed, or refused by the provider
	KindPayoutCancelled Kind = "payout_cancelled" // to the maker: cancelled, or expired in the queue
	KindPayoutUnknown   Kind = "payout_unknown"   // to the maker: the outcome is not known yet
	KindPayoutReturned  Kind = "payout_returned"  // to the maker: the receiving bank sent a bank-account payout back
	KindBalanceLow      Kind = "balance_low"      // to admins: money on hand fell under its low mark
	KindWebhookFlagged  Kind = "webhook_flagged"  // to admins: a provider webhook needs a person's look
	KindAdminChange     Kind = "admin_change"     // to admins: a change waits for a second admin
)

// Roles, as store.User holds them.
const (
	roleMaker    = "maker"
	roleApprover = "approver"
	roleAdmin    = "admin"
)

var kinds = []struct {
	kind  Kind
	role  string
	label string
}{
	{KindPayoutQueued, roleApprover, "A payout waits for approval"},
	{KindDeadlineSoon, roleApprover, "A payout in the queue is 30 minutes from its deadline"},
	{KindPayoutSucceeded, roleMaker, "My payout succeeded"},
	{KindPayoutFailed, roleMaker, "My payout failed"},
	{KindPayoutCancelled, roleMaker, "My payout was cancelled or expired"},
	{KindPayoutUnknown, roleMaker, "The outcome of my payout is not known"},
	{KindPayoutReturned, roleMaker, "My payout was returned by the receiving bank"},
	{KindBalanceLow, roleAdmin, "The balance fell under its low mark"},
	{KindWebhookFlagged, roleAdmin, "A provider webhook was flagged"},
	{KindAdminChange, roleAdmin, "An admin change waits for approval"},
}

// AllKinds returns every kind, grouped by role.
func AllKinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// Valid reports whether k is one of AllKinds.
func (k Kind) Valid() bool { return slices.Contains(AllKinds(), k) }

// Role is the role whose holders get this kind.
func (k Kind) Role() string {
	for _, d := range kinds {
		if d.kind == k {
			return d.role
		}
	}
	return ""
}

// Label is the kind as people read it, e.g. on a preferences form.
func (k Kind) Label() string {
	for _, d := range kinds {
		if d.kind == k {
			return d.label
		}
	}
	return string(k)
}

// KindsFor returns the kinds that apply to someone holding roles.
func KindsFor(roles []string) []Kind {
	var out []Kind
	for _, d := range kinds {
		if slices.Contains(roles, d.role) {
			out = append(out, d.kind)
		}
	}
	return out
}
