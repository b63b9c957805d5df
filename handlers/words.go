package handlers

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"

	"countersign/admin"
	"countersign/fail"
	"countersign/notify"
	"countersign/password"
	"countersign/payout"
	"countersign/smartglocal"
	"countersign/stepup"
	"countersign/store"
	"countersign/views"
)

// This file is the one place that turns audit entries into what people read,
// on a payout's timeline and in the audit log: people by name, amounts in
// major units with their currency, states and provider codes in words. The
// entry as stored stays beside the words (Event.Code) for support, so
// nothing is lost by the translation, and an entry this file does not know
// still reads as a sentence.

// wording knows the names of the people an entry may name.
type wording struct {
	names map[string]string // email (lower case) → name
}

func (a *app) wording(ctx context.Context) (wording, error) {
	users, err := a.DB.Users(ctx)
	if err != nil {
		return wording{}, err
	}
	w := wording{names: make(map[string]string, len(users))}
	for _, u := range users {
		w.names[strings.ToLower(u.Email)] = u.Name
	}
	return w, nil
}

// who names the actor of an entry.
func (w wording) who(actor string) string {
	switch actor {
	case "system":
		return "Countersign"
	case "provider":
		return "Smart Glocal"
	case "anonymous", "":
		return "Someone not signed in"
	}
	if n, ok := w.names[strings.ToLower(actor)]; ok {
		return n
	}
	return actor // what an unknown person typed to sign in
}

// event is an entry in words, its time on clk.
func (w wording) event(e store.AuditEntry, clk views.Clock) views.Event {
	what, detail, tone := w.describe(e)
	return views.Event{At: clk.Seconds(e.At), Who: w.who(e.Actor), What: what, Detail: detail, Tone: tone,
		Code: strings.Join(nonEmpty(e.Action, e.Outcome, e.Detail), " · ")}
}

// toneOf is how an outcome looks: refused and failed things stand out,
// routine repeats step back.
func toneOf(outcome string) string {
	switch outcome {
	case "denied", "failed", "refused", "unknown", "mismatch", "flagged", "unknown_session":
		return "bad"
	case "stale", "duplicate":
		return "muted"
	}
	return ""
}

// actionWords names what each action did when it went through.
var actionWords = map[string]string{
	"payout.create":                 "Prepared the payout",
	"payout.approve":                "Approved",
	"payout.cancel":                 "Cancelled",
	"payout.export":                 "Exported payouts as CSV",
	"payout.return":                 "Recorded that the receiving bank returned it",
	"payout.reconcile":              "Checked with Smart Glocal",
	"provider.session/create":       "Opened a session with Smart Glocal",
	"provider.session/start/payout": "Sent the payout to Smart Glocal",
	"provider.session/confirm":      "Asked Smart Glocal to pay",
	"provider.session/cancel":       "Asked Smart Glocal to cancel",
	"provider.session/status":       "Asked Smart Glocal how the payout stands",
	"webhook.ready_to_confirm":      "Smart Glocal: ready to be confirmed",
	"webhook.payment_finished":      "Smart Glocal: payment finished",
	"webhook.unknown_session":       "Smart Glocal sent news of a session that is not ours",
	"login.ok":                      "Signed in",
	"login.failed":                  "Sign-in refused",
	"login.lockout":                 "Account locked after too many failed sign-ins",
	"logout":                        "Signed out",
	"user.create":                   "Added an account",
	"user.update":                   "Changed an account's access",
	"user.password_reset":           "Reset a password",
	"user.sessions_ended":           "Ended an account's sessions",
	"user.time_zone":                "Changed their time zone",
	"notify.preferences":            "Changed their notifications",
	"recipient.create":              "Added a recipient",
	"card.add":                      "Saved a card",
	"card.verify":                   "Verified a card",
	"card.remove":                   "Removed a card",
	"card.refresh":                  "Asked Smart Glocal about a card again",
	"policy.update":                 "Changed the approval policy",
	"settings.balance_low":          "Changed the low-balance levels",
	"settings.update":               "Changed the settings",
	"settings.second_factor":        "Changed the second-factor policy",
	"change.propose":                "Proposed an admin change",
	"change.approve":                "Approved an admin change",
	"change.reject":                 "Rejected an admin change",
	"change.withdraw":               "Withdrew an admin change",
	"stepup.ok":                     "Gave a second-factor code",
	"stepup.failed":                 "Gave a wrong second-factor code",
	"stepup.locked":                 "Decisions locked after wrong second-factor codes",
	"totp.enrol":                    "Set up a second factor",
	"user.password_set":             "Chose a password",
	"audit.export":                  "Exported the audit log",
}

// triedWords names an action that was refused.
var triedWords = map[string]string{
	"payout.create":        "Tried to prepare a payout",
	"payout.approve":       "Tried to approve",
	"payout.cancel":        "Tried to cancel",
	"card.add":             "Tried to save a card",
	"card.verify":          "Tried to verify a card",
	"card.remove":          "Tried to remove a card",
	"card.refresh":         "Tried to refresh a card",
	"policy.update":        "Tried to change the approval policy",
	"settings.balance_low": "Tried to change the low-balance levels",
	"change.propose":       "Tried to propose an admin change",
	"change.approve":       "Tried to approve an admin change",
	"change.reject":        "Tried to reject an admin change",
	"change.withdraw":      "Tried to withdraw an admin change",
}

// refusals are the refusals an entry may name by code, with their words:
// those of payouts and cards, and those of admin changes (where a code such
// as reason_required means the reason for rejecting a change).
var refusals, adminRefusals = refusalMap(payout.ErrNotApprover, payout.ErrOwnPayout, payout.ErrAlreadyApproved, payout.ErrNotPending,
	payout.ErrCannotCancel, payout.ErrReasonRequired, payout.ErrReasonInvalid, payout.ErrVersionChanged, payout.ErrStepUp,
	payout.ErrOverdraw, payout.ErrDuplicate, payout.ErrNotMaker, payout.ErrOwnCard, payout.ErrCardChanged, payout.ErrCardNotFound,
	payout.ErrProviderUnavailable, password.ErrTooShort, password.ErrTooLong, store.ErrEmailTaken, store.ErrCardExists,
	notify.ErrKindNotForYou, stepup.ErrMustEnrol, stepup.ErrWrongCode, stepup.ErrReplayed, stepup.ErrLocked, reasonTooLong),
	refusalMap(admin.ErrNotAdmin, admin.ErrOwnChange, admin.ErrNotProposer, admin.ErrProposerGone, admin.ErrDecided, admin.ErrStale,
		admin.ErrReasonRequired, admin.ErrReasonInvalid, admin.ErrSelfLockout, stepup.ErrMustEnrol, stepup.ErrCodeRequired,
		stepup.ErrWrongCode, stepup.ErrReplayed, stepup.ErrLocked, reasonTooLong)

// reasonTooLong is the code older logs hold for a reason refused for its
// length alone, before reasons followed text.CheckReason (now reason_invalid).
var reasonTooLong = fail.New(fail.Invalid, "reason_too_long", "The reason was longer than 500 characters")

func refusalMap(errs ...*fail.Error) map[string]string {
	m := map[string]string{}
	for _, e := range errs {
		m[e.Code] = e.Message
	}
	return m
}

// describe says what an entry records: what happened, more detail, and its tone.
func (w wording) describe(e store.AuditEntry) (what, detail, tone string) {
	tone = toneOf(e.Outcome)
	what = actionWords[e.Action]
	if what == "" {
		what = humanize(e.Action)
	}
	if e.Outcome == "denied" {
		if t, ok := triedWords[e.Action]; ok {
			what = t
		}
		return what, "Refused: " + refusalWords(e.Action, e.Detail), tone
	}
	action, _, _ := strings.Cut(e.Action, ".")
	switch {
	case e.Action == "payout.create":
		detail = preparedWords(e.Detail)
	case e.Action == "payout.approve":
		detail = approvalWords(e.Detail)
	case e.Action == "payout.cancel":
		if r, ok := strings.CutPrefix(e.Detail, "reason: "); ok {
			detail = "Reason: “" + r + "”"
		}
	case e.Action == "payout.export":
		detail = "Filter: " + e.Detail
		if e.Detail == "" {
			detail = "Every payout"
		}
	case action == "provider":
		detail = providerWords(e.Outcome, e.Detail)
	case action == "webhook" || e.Action == "payout.reconcile":
		detail = newsWords(e.Outcome, e.Detail)
	case e.Action == "user.create":
		email, roles, _ := strings.Cut(e.Detail, " roles=")
		detail = email + ", roles: " + orNone(strings.ReplaceAll(roles, ",", ", "))
	case e.Action == "user.update":
		detail = strings.NewReplacer("roles ", "Roles: ", ",", ", ", "active true → false", "deactivated",
			"active false → true", "activated again").Replace(e.Detail)
	case e.Action == "user.password_reset":
		detail = "Their sessions were ended"
	case e.Action == "notify.preferences":
		detail = preferenceWords(e.Detail)
	case e.Action == "policy.update":
		detail = levelWords(strings.TrimPrefix(e.Detail, "thresholds "), "Two approvers from %s", "No currency needs two approvers")
	case e.Action == "settings.balance_low":
		detail = levelWords(strings.TrimPrefix(e.Detail, "levels "), "Banner below %s", "No low-balance banner")
	case e.Action == "login.failed":
		detail = upperFirst(e.Detail)
	default:
		detail = upperFirst(e.Detail)
	}
	if tone == "" && (action == "webhook" || e.Action == "payout.reconcile") {
		tone = transitionTone(e.Detail)
	}
	return what, detail, tone
}

// refusalWords is a refusal code of an action as people read it.
func refusalWords(action, code string) string {
	words := refusals
	if strings.HasPrefix(action, "change.") || strings.HasPrefix(action, "settings.") || strings.HasPrefix(action, "user.") {
		words = adminRefusals
	}
	if m, ok := words[code]; ok {
		return m
	}
	return humanize(code)
}

var preparedRe = regexp.MustCompile(`^(.+) to (.+) \((typed card|saved card #\d+)\), recipient "(.*)"(; duplicate warning acknowledged)?$`)

// preparedWords turns `32.90 USD to VISA •••• 4242 (typed card), recipient "Jane"`
// into "32.90 USD to Jane, VISA •••• 4242 (typed in)".
func preparedWords(d string) string {
	m := preparedRe.FindStringSubmatch(d)
	if m == nil {
		return d
	}
	source := "typed in"
	if strings.HasPrefix(m[3], "saved") {
		source = "a saved card"
	}
	out := m[1] + " to " + m[4] + ", " + m[2] + " (" + source + ")"
	if m[5] != "" {
		out += "; the duplicate warning was acknowledged"
	}
	return out
}

var approvalRe = regexp.MustCompile(`approval (\d+) of (\d+)`)

// approvalWords turns "approval 1 of 2 for version 4; policy met, confirming"
// into "Approval 1 of 2; enough approvals: the money is released".
func approvalWords(d string) string {
	m := approvalRe.FindStringSubmatch(d)
	if m == nil {
		return upperFirst(d)
	}
	out := "Approval " + m[1] + " of " + m[2]
	if strings.Contains(d, "policy met") {
		out += ": enough approvals, so Smart Glocal is asked to pay"
	} else {
		out += ": another approver must approve it too"
	}
	return out
}

var (
	transitionRe = regexp.MustCompile(`([a-z_]+) → ([a-z_]+)`)
	staysRe      = regexp.MustCompile(`payout stays ([a-z_]+)`)
	stateRe      = regexp.MustCompile(`payout ([a-z_]+)`)
	errorCodeRe  = regexp.MustCompile(`error ([a-z_]+)`)
	minorRe      = regexp.MustCompile(`(\d+) ([A-Z]{3})\b`)
)

// providerWords says how a call to the provider went and where it left the payout.
func providerWords(outcome, d string) string {
	var out string
	switch outcome {
	case store.CallRefused:
		out = "Smart Glocal refused"
		if code := lastCode(d); code != "" {
			out += ": " + smartglocal.CodeMeaning(code)
		}
	case store.CallUnknown:
		out = "No clear answer from Smart Glocal: Countersign is finding out what happened"
	}
	if s := stateWords(d); s != "" {
		out = joinSentences(out, s)
	}
	return out
}

// newsWords says what the provider's news (or a check of it) did to the payout.
func newsWords(outcome, d string) string {
	if m := staysRe.FindStringSubmatch(d); m != nil {
		return "Old news, nothing changed: the payout was already " + strings.ToLower(payout.State(m[1]).Label())
	}
	var out string
	switch outcome {
	case "flagged", "mismatch":
		out = "Flagged for a person to look at: " + minorRe.ReplaceAllStringFunc(d, majorUnits)
	case "duplicate":
		out = "The same news again: nothing changed"
	}
	if out != "" {
		return out
	}
	out = stateWords(d)
	if code := errorCodeRe.FindStringSubmatch(d); code != nil {
		out = joinSentences(out, "Smart Glocal says "+smartglocal.CodeMeaning(code[1]))
	}
	if strings.Contains(d, "left to the reconciler") {
		out = joinSentences(out, "Left for Countersign to check with Smart Glocal")
	}
	if strings.Contains(d, "the cancel never landed") {
		out = joinSentences("The cancel never reached Smart Glocal, so it was sent again", out)
	}
	if strings.Contains(d, "the start never reached the provider") {
		out = joinSentences("The payout never reached Smart Glocal", out)
	}
	return out
}

// transitionTone is the tone of news that moved a payout: good when it was
// paid, bad when it ended without being paid.
func transitionTone(d string) string {
	ms := transitionRe.FindAllStringSubmatch(d, -1)
	if ms == nil {
		return ""
	}
	switch to := payout.State(ms[len(ms)-1][2]); to {
	case payout.StateSucceeded:
		return "ok"
	case payout.StateFailed, payout.StateRejected, payout.StateExpired, payout.StateUnknown:
		return "bad"
	}
	return ""
}

// stateWords finds where a detail left the payout: "Now: waiting for approval".
func stateWords(d string) string {
	if ms := transitionRe.FindAllStringSubmatch(d, -1); ms != nil {
		m := ms[len(ms)-1]
		if from, to := payout.State(m[1]), payout.State(m[2]); from.Valid() && to.Valid() {
			return "Now: " + statePhrase(to)
		}
	}
	ms := stateRe.FindAllStringSubmatch(d, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		if s := payout.State(ms[i][1]); s.Valid() {
			return "Now: " + statePhrase(s)
		}
	}
	return ""
}

// statePhrase is where a payout stands, as the end of a sentence.
func statePhrase(s payout.State) string {
	switch s {
	case payout.StateSubmitting:
		return "being sent to Smart Glocal"
	case payout.StateAwaitingProvider:
		return "Smart Glocal is checking it"
	case payout.StatePendingApproval:
		return "waiting for approval"
	case payout.StateConfirming:
		return "approved, Smart Glocal is being asked to pay"
	case payout.StateConfirmed:
		return "Smart Glocal is paying it"
	case payout.StateSucceeded:
		return "paid"
	case payout.StateFailed:
		return "failed, nothing paid"
	case payout.StateCancelling:
		return "being cancelled"
	case payout.StateCancelled:
		return "cancelled, nothing paid"
	case payout.StateWithdrawn:
		return "withdrawn, nothing paid"
	case payout.StateExpired:
		return "expired, nothing paid"
	case payout.StateRejected:
		return "refused by Smart Glocal, nothing paid"
	case payout.StateUnknown:
		return "outcome not known yet; Countersign is finding out"
	}
	return strings.ToLower(s.Label())
}

// lastCode is the provider code a refused call's detail ends with, if any.
func lastCode(d string) string {
	i := strings.LastIndex(d, "; ")
	if i < 0 {
		return ""
	}
	code := d[i+2:]
	if strings.Trim(code, "abcdefghijklmnopqrstuvwxyz_") != "" || payout.State(code).Valid() {
		return ""
	}
	return code
}

// majorUnits rewrites "123450 USD" (minor units) as "1,234.50 USD".
func majorUnits(s string) string {
	m := minorRe.FindStringSubmatch(s)
	var n int64
	for _, c := range m[1] {
		n = n*10 + int64(c-'0')
	}
	if _, ok := payout.Exponent(m[2]); !ok || len(m[1]) > 18 {
		return s
	}
	return payout.FormatAmount(n, m[2]) + " " + m[2]
}

// levelWords turns "USD=100000,EUR=0" (minor units, as stored) into
// "Two approvers from 1,000.00 USD; from 0.00 EUR".
func levelWords(v, format, none string) string {
	levels, err := payout.ParseLevels(v)
	if err != nil {
		return v
	}
	if len(levels) == 0 {
		return none
	}
	var parts []string
	for _, cur := range slices.Sorted(maps.Keys(levels)) {
		parts = append(parts, payout.FormatAmount(levels[cur], cur)+" "+cur)
	}
	return strings.Replace(format, "%s", strings.Join(parts, "; "), 1)
}

// preferenceWords turns "opted out of payout_queued, deadline_soon" into the kinds' labels.
func preferenceWords(d string) string {
	kinds, ok := strings.CutPrefix(d, "opted out of ")
	if !ok {
		return "Gets every notification of their roles"
	}
	var labels []string
	for _, k := range strings.Split(kinds, ", ") {
		labels = append(labels, notify.Kind(k).Label())
	}
	return "Not told: " + strings.Join(labels, "; ")
}

// humanize turns a code ("not_pending", "card.add") into words.
func humanize(code string) string {
	return upperFirst(strings.NewReplacer(".", " ", "_", " ", "/", " ").Replace(code))
}

func upperFirst(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func joinSentences(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ". " + b
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
