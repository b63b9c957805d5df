package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal"
	"countersign/store"
	freetext "countersign/text"
	"countersign/views"
)

// How often live pages ask whether what they show changed. The queue is
// where approvers wait for work; a payout page follows one payout to its end.
const (
	queuePollEvery     = "5s"
	payoutPollEvery    = "3s"
	dashboardPollEvery = "10s"
)

func (a *app) showPayout(c echo.Context) error {
	p, err := a.payoutFromPath(c)
	if err != nil {
		return err
	}
	return a.renderPayout(c, http.StatusOK, p, decisionForm{})
}

// payoutLive answers the payout page's poll: its live part, or 204 when
// nothing changed since the page last asked.
func (a *app) payoutLive(c echo.Context) error {
	p, err := a.payoutFromPath(c)
	if err != nil {
		return err
	}
	m, err := a.payoutPageModel(c, p, decisionForm{})
	if err != nil {
		return err
	}
	if m.Frame.CSRF, err = a.csrfToken(c); err != nil {
		return err
	}
	m.Frame.Clock = a.clock(c)
	// The decision forms ask for a code, or say until when none is needed.
	if m.Frame.StepUp, err = a.stepUpView(c, currentUser(c)); err != nil {
		return err
	}
	return renderLive(c, m.Poll, func(poll views.Poll) templ.Component {
		m.Poll = poll
		return views.PayoutLive(m)
	})
}

// decisionForm is what an approve, cancel or return form sent, to show the page again.
type decisionForm struct {
	reason  string           // typed into the cancel form
	refused error            // why the decision was refused, or nil
	ret     views.ReturnForm // typed into the return form
}

func (a *app) renderPayout(c echo.Context, status int, p *store.Payout, form decisionForm) error {
	m, err := a.payoutPageModel(c, p, form)
	if err != nil {
		return err
	}
	f, err := a.frame(c, "Payout #"+itoa(p.ID), "/payouts")
	if err != nil {
		return err
	}
	m.Frame = f
	// The live part is fingerprinted as its refresh will render it, before
	// what this answer adds about the form: a refresh then changes the page
	// only when the payout changed, not to wipe out why a decision was refused.
	live := m
	live.Reason, live.Return = "", views.ReturnForm{On: a.clock(c).Day(a.Now())}
	if m.Poll, err = fingerprint(c, m.Poll, func(poll views.Poll) templ.Component {
		live.Poll = poll
		return views.PayoutLive(live)
	}); err != nil {
		return err
	}
	switch {
	case form.refused == nil:
	case len(form.ret.Errors) > 0: // said beside the return form's fields
	case errors.Is(form.refused, payout.ErrReasonRequired) || errors.Is(form.refused, payout.ErrReasonInvalid):
		m.CancelError = fail.MessageOf(form.refused)
		if freetext.HoldsCardNumber(m.CancelError) {
			m.Reason = "" // never shown back
		}
	default: // who may decide, the second factor, the payout's state: said above the page
		showRefusal(&m.Frame, form.refused)
	}
	return render(c, status, views.PayoutPage(m))
}

// payoutPageModel is everything the payout page shows but the frame.
func (a *app) payoutPageModel(c echo.Context, p *store.Payout, form decisionForm) (views.PayoutPageModel, error) {
	ctx := c.Request().Context()
	clk := a.clock(c)
	v, err := a.payoutView(c, p)
	if err != nil {
		return views.PayoutPageModel{}, err
	}
	m := views.PayoutPageModel{P: v, Reason: form.reason, Return: form.ret, State: statePanel(p, v, clk, a.Now())}
	if m.Return.On == "" {
		m.Return.On = clk.Day(a.Now())
	}
	if !p.FinishedAt.IsZero() {
		m.Finished = clk.Time(p.FinishedAt)
	}
	if !payout.State(p.State).Final() {
		m.Poll = views.Poll{URL: v.Href + "/live", Every: payoutPollEvery}
	}
	entries, err := a.DB.AuditEntries(ctx, store.AuditFilter{ObjectType: "payout", ObjectID: itoa(p.ID), Ascending: true})
	if err != nil {
		return m, err
	}
	w, err := a.wording(ctx)
	if err != nil {
		return m, err
	}
	for _, e := range entries {
		m.Timeline = append(m.Timeline, w.event(e, clk))
	}
	return m, nil
}

// statePanel says where a payout stands, in words: the first thing its page
// shows. Our reason for a cancel comes first; the provider's words about it
// are a detail.
func statePanel(p *store.Payout, v views.PayoutView, clk views.Clock, now time.Time) views.StatePanel {
	s := payout.State(p.State)
	sp := views.StatePanel{Label: s.Label(), Tone: stateTone(s)}
	provider := p.FailureReason
	if provider == "" && p.FailureCode != "" {
		provider = smartglocal.CodeMeaning(p.FailureCode)
	}
	finished := clk.Time(p.FinishedAt)
	switch s {
	case payout.StateSubmitting, payout.StateAwaitingProvider:
		sp.Working = true
		sp.Summary = "Smart Glocal is checking the payout. It comes to the approval queue when the provider is ready; this page follows it."
	case payout.StatePendingApproval:
		sp.Summary = "Waiting for approval: " + strings.ToLower(approvalsWords(v)) + "."
		if v.Deadline != "" {
			sp.Summary += " Smart Glocal cancels it if nobody approves it by " + v.Deadline + " (" + v.TimeLeft + ")."
		}
	case payout.StateConfirming, payout.StateConfirmed:
		sp.Working = true
		sp.Summary = "Approved. Smart Glocal is paying it out; this page shows the outcome when it comes."
	case payout.StateCancelling:
		sp.Working = true
		sp.Summary = "Smart Glocal was asked to cancel it. Nothing is paid."
		sp.Reason = cancelReason(p.CancelReason)
	case payout.StateSucceeded:
		sp.Summary = "Paid out to " + v.PaidTo + " on " + finished + "."
		if p.Returned() {
			sp.Label, sp.Tone = "Returned by the bank", "bad"
			sp.Summary += " The receiving bank then sent it back on " + v.ReturnedOn + "."
			sp.Reason = "Why: " + v.ReturnReason
		}
	case payout.StateFailed:
		sp.Summary = "Not paid: the payout failed on " + finished + ". No money left the wallet."
		sp.Reason = reasonWords(provider)
	case payout.StateRejected:
		sp.Summary = "Not paid: Smart Glocal refused to start it (" + finished + ")."
		sp.Reason = reasonWords(provider)
	case payout.StateCancelled:
		sp.Summary = "Cancelled on " + finished + ". Nothing was paid."
		if sp.Reason = cancelReason(p.CancelReason); sp.Reason == "" {
			sp.Reason = reasonWords(provider)
		} else if provider != "" {
			sp.Provider = "Smart Glocal's words: " + provider
		}
	case payout.StateExpired:
		sp.Summary = "Expired on " + finished + ": nobody approved it before Smart Glocal's deadline. Nothing was paid."
	case payout.StateWithdrawn:
		sp.Summary = "Withdrawn on " + finished + ", before it reached Smart Glocal. Nothing was paid."
	case payout.StateUnknown:
		sp.Working = true
		sp.Summary = "Smart Glocal did not answer clearly, so it is not known yet whether the money left. Countersign keeps asking; do not prepare it again."
	}
	return sp
}

func cancelReason(r string) string {
	if r == "" {
		return ""
	}
	return "Reason: “" + r + "”"
}

func reasonWords(r string) string {
	if r == "" {
		return ""
	}
	return "Why: " + r
}

// stateTone is the colour a state is shown in, everywhere.
func stateTone(s payout.State) string {
	switch s {
	case payout.StateSucceeded:
		return "ok"
	case payout.StateFailed, payout.StateRejected, payout.StateUnknown, payout.StateExpired:
		return "bad"
	case payout.StatePendingApproval:
		return "warn"
	case payout.StateSubmitting, payout.StateAwaitingProvider, payout.StateConfirming, payout.StateConfirmed, payout.StateCancelling:
		return "info"
	}
	return "muted"
}

// approvalsWords is how far a payout is with its approvals.
func approvalsWords(v views.PayoutView) string {
	switch {
	case v.ApprovalsNeeded <= 1 && v.ApprovalsHave == 0:
		return "Needs one approval"
	case v.ApprovalsHave == 0:
		return "Needs two approvals; none yet"
	}
	return itoa(int64(v.ApprovalsHave)) + " of " + itoa(int64(v.ApprovalsNeeded)) + " approvals"
}

// payoutView builds what people see of a payout, including what this person may do with it.
func (a *app) payoutView(c echo.Context, p *store.Payout) (views.PayoutView, error) {
	approvals, err := a.DB.Approvals(c.Request().Context(), p.ID)
	if err != nil {
		return views.PayoutView{}, err
	}
	var need payout.Need
	if payout.State(p.State) == payout.StatePendingApproval {
		if need, err = a.Payouts.Requirement(c.Request().Context(), p); err != nil {
			return views.PayoutView{}, err
		}
	}
	return a.payoutViewWith(c, p, approvals, need)
}

// payoutViewWith is payoutView for a payout whose approvals, and while it
// waits what it needs, were read already (a page of the queue reads them
// for all its payouts at once).
func (a *app) payoutViewWith(c echo.Context, p *store.Payout, approvals []store.Approval, need payout.Need) (views.PayoutView, error) {
	clk := a.clock(c)
	now := a.Now()
	s := payout.State(p.State)
	v := views.PayoutView{
		ID: p.ID, Href: "/payouts/" + itoa(p.ID), Version: p.Version, State: p.State,
		StateLabel: s.Label(), Tone: stateTone(s),
		Amount: payout.FormatAmount(p.Amount, p.Currency), Currency: p.Currency, FullName: p.FullName,
		Method: p.Method, PaidTo: payout.Destination(p), Country: payout.CountryName(p.AccountCountry),
		Maker: p.MakerName, CreatedAt: clk.Time(p.CreatedAt),
		CustomerReference: p.CustomerReference, Note: p.Note, Purpose: payout.PurposeLabel(p.Purpose),
		SessionID: p.ProviderSessionID,
		Returned:  p.Returned(), ReturnedOn: p.ReturnedOn, ReturnReason: p.ReturnReason,
	}
	if p.Returned() {
		by, err := a.userName(c, map[int64]string{}, p.ReturnedBy)
		if err != nil {
			return v, err
		}
		v.ReturnedBy = by + ", " + clk.Time(p.ReturnedAt)
	}
	v.CanRecordReturn = payout.CheckReturn(actor(c), p) == nil
	v.Announce = v.Amount + " " + v.Currency + " to " + v.FullName + ", prepared by " + v.Maker
	// While a payout waits, only approvals of its current version by
	// approvers who still are ones count (payout.Counts); once it has moved
	// on, every approval it ever had is history worth showing.
	waiting := s == payout.StatePendingApproval
	var current []int64
	for _, ap := range approvals {
		switch {
		case !waiting:
			v.Approvals = append(v.Approvals, ap.UserName+", "+clk.Time(ap.At))
		case ap.Version != p.Version:
		case payout.Counts(ap):
			current = append(current, ap.UserID)
			v.Approvals = append(v.Approvals, ap.UserName+", "+clk.Time(ap.At))
		default:
			v.Approvals = append(v.Approvals, ap.UserName+", "+clk.Time(ap.At)+": no longer counts (no longer an active approver)")
		}
	}
	v.ApprovalsHave = len(current)
	if waiting {
		v.ApprovalsNeeded, v.NeedReason = need.Count, need.Reason
	} else {
		// What a finished payout needed is in its timeline; here, what it had.
		v.ApprovalsHave, v.ApprovalsNeeded = len(v.Approvals), len(v.Approvals)
	}
	if !p.DeadlineAt.IsZero() && !s.Final() {
		v.Deadline = clk.Time(p.DeadlineAt)
		left := p.DeadlineAt.Sub(now)
		v.TimeLeft = humanDuration(left)
		v.Urgent = left < 30*time.Minute
	}
	u := currentUser(c)
	v.Mine = u.ID == p.MakerID
	facts := payout.Facts{State: s, MakerID: p.MakerID, EditorIDs: []int64{p.MakerID}, ApproverIDs: current}
	if waiting {
		err := payout.CheckApproveButton(payout.Approver{UserID: u.ID, Roles: userRoles(u)}, facts, v.ApprovalsNeeded)
		v.CanApprove = err == nil
		// Only an approver is told why not: everyone else cannot approve
		// anything, which the queue says once, not on every payout.
		if refused(err) && u.HasRole(string(payout.RoleApprover)) {
			v.ApproveBlocked = fail.MessageOf(err)
		}
		v.CanCancel = payout.CheckCancel(u.ID, userRoles(u), facts, "reason") == nil
		after, overdraws, err := a.afterApproval(c, p, 0)
		if err != nil {
			return v, err
		}
		v.AfterApproval, v.Overdraws = after, overdraws
	}
	return v, nil
}
