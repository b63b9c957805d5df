package payout

import (
	"errors"
	"slices"

	"countersign/fail"
	"countersign/text"
)

// Role is what a user may do. A user may hold several.
type Role string

// The roles of design.md.
const (
	RoleMaker    Role = "maker"    // prepares payouts, withdraws their own before approval
	RoleApprover Role = "approver" // approves or cancels payouts in the queue
	RoleAdmin    Role = "admin"    // manages users, roles and the policy; approves nothing by that alone
	RoleAuditor  Role = "auditor"  // reads only
)

// AllRoles returns every role.
func AllRoles() []Role { return []Role{RoleMaker, RoleApprover, RoleAdmin, RoleAuditor} }

// Refusals of an approval or a cancel.
var (
	ErrNotApprover     = fail.New(fail.Forbidden, "not_approver", "Only approvers can approve payouts")
	ErrOwnPayout       = fail.New(fail.Forbidden, "own_payout", "You prepared this payout, so someone else must approve it")
	ErrAlreadyApproved = fail.New(fail.Conflict, "already_approved", "You have already approved this payout")
	ErrNotPending      = fail.New(fail.Conflict, "not_pending", "This payout is no longer waiting for approval")
	ErrCannotCancel    = fail.New(fail.Forbidden, "cannot_cancel", "Only approvers and the person who prepared this payout can cancel it")
	ErrReasonRequired  = fail.New(fail.Invalid, "reason_required", "Give a reason for cancelling this payout")
	ErrReasonInvalid   = fail.New(fail.Invalid, "reason_invalid", "Keep the reason to one line of 500 characters or fewer")
)

// errEditedPayout matches ErrOwnPayout under errors.Is but tells an editor why.
var errEditedPayout = ErrOwnPayout.With("You changed this payout, so someone else must approve it")

// Policy is the approval policy: one approval below the threshold of a
// payout's currency, two distinct approvers at or above it. It fails safe: a
// currency with no threshold needs two approvers for every payout.
type Policy struct {
	// Thresholds maps a currency code to an amount in minor units. A
	// threshold of zero or less, like no threshold, asks for two on every
	// payout in that currency.
	Thresholds map[string]int64
}

// Threshold returns the threshold that applies to currency, if there is one.
// Keys match case-insensitively, so a threshold saved as "usd" still applies;
// if two keys match, the lower threshold wins: the stricter reading.
func (p Policy) Threshold(currency string) (int64, bool) {
	c, ok := code(currency)
	if _, known := Exponent(c); !ok || !known {
		return 0, false
	}
	var best int64
	found := false
	for k, threshold := range p.Thresholds {
		if kc, ok := code(k); ok && kc == c && (!found || threshold < best) {
			best, found = threshold, true
		}
	}
	return best, found
}

// Required returns how many distinct approvals a total of amount in currency
// needs: 1 or 2. A currency with no threshold, or none that is known, needs 2.
func (p Policy) Required(currency string, amount int64) int {
	if threshold, ok := p.Threshold(currency); ok && amount < threshold {
		return 1
	}
	return 2
}

// Met reports whether the approvals satisfy Required. It counts distinct
// positive user ids and ignores the maker and the editors even if they appear
// among the approvers, so a bad row can never stand in for a second person.
func (p Policy) Met(currency string, amount int64, approverIDs []int64, makerID int64, editorIDs []int64) bool {
	return enough(p.Required(currency, amount), approverIDs, makerID, editorIDs)
}

// enough reports whether approverIDs hold need distinct people other than
// the maker and the editors.
func enough(need int, approverIDs []int64, makerID int64, editorIDs []int64) bool {
	var counted []int64
	for _, id := range approverIDs {
		if id <= 0 || id == makerID || slices.Contains(editorIDs, id) || slices.Contains(counted, id) {
			continue
		}
		counted = append(counted, id)
	}
	return len(counted) >= need
}

// Approver is the person trying to approve.
type Approver struct {
	UserID int64
	Roles  []Role
}

// Facts are what we know of the payout when deciding.
type Facts struct {
	State       State
	MakerID     int64
	EditorIDs   []int64 // everyone who changed the payout after it was made
	ApproverIDs []int64 // who already approved this version
}

// CheckApproval returns why a may not approve the payout, or nil.
// Who is asking is checked before the state: those refusals last, and they
// say the more useful thing. The maker and the editors are refused whatever
// roles they hold, admin included.
func CheckApproval(a Approver, f Facts) error {
	switch {
	case a.UserID <= 0 || !slices.Contains(a.Roles, RoleApprover):
		return ErrNotApprover
	case a.UserID == f.MakerID:
		return ErrOwnPayout
	case slices.Contains(f.EditorIDs, a.UserID):
		return errEditedPayout
	case slices.Contains(f.ApproverIDs, a.UserID):
		return ErrAlreadyApproved
	case f.State != StatePendingApproval:
		return ErrNotPending
	}
	return nil
}

// CheckApproveButton returns why a may not press Approve on the payout, or
// nil: CheckApproval, except that an approver who already approved may
// press again when the approvals given meet need (how many the policy asks
// now), which releases the payout (Approve).
func CheckApproveButton(a Approver, f Facts, need int) error {
	err := CheckApproval(a, f)
	if errors.Is(err, ErrAlreadyApproved) && f.State == StatePendingApproval && enough(need, f.ApproverIDs, f.MakerID, f.EditorIDs) {
		return nil
	}
	return err
}

// CheckCancel returns why userID may not cancel the payout, or nil.
// Any approver may cancel, even one who prepared or changed the payout, and so
// may its maker who still holds the maker role: cancelling never moves money, and
// it is how a maker withdraws a payout the provider already has. Admins and
// auditors may not, by those roles alone. Only a payout waiting for approval can
// be cancelled: that is the only time the provider accepts session/cancel.
// The reason goes to the audit log, so it must say something and stay bounded.
func CheckCancel(userID int64, roles []Role, f Facts, reason string) error {
	approver := slices.Contains(roles, RoleApprover)
	maker := userID == f.MakerID && slices.Contains(roles, RoleMaker)
	switch {
	case userID <= 0 || !(approver || maker):
		return ErrCannotCancel
	case f.State != StatePendingApproval:
		return ErrNotPending
	}
	_, err := checkReason(reason)
	return err
}

// checkReason is text.CheckReason, the one rule for reasons, as this
// package's refusals; it returns the cleaned reason.
func checkReason(reason string) (string, error) {
	cleaned, problem := text.CheckReason(reason)
	switch {
	case problem == "":
		return cleaned, nil
	case cleaned == "" && !text.HoldsCardNumber(problem):
		return "", ErrReasonRequired
	}
	return "", ErrReasonInvalid.With(problem)
}
