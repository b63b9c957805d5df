package handlers

import (
	"compress/gzip"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"countersign/payout"
	"countersign/static"
	"countersign/views"
)

// route is one line of the routes table: who may call what. nav is the
// page's label in the navigation; "" keeps it out.
type route struct {
	method, path string
	acc          access
	handler      echo.HandlerFunc
	nav          string
}

// group is a part of the URL space with its own middleware: what a request
// goes through is decided by the group its route is in, never by comparing
// paths at request time.
type group struct {
	prefix     string
	middleware []echo.MiddlewareFunc
	routes     []route // paths below prefix
}

var (
	public   = access{public: true}
	signedIn = access{}          // with a role, and the second factor it needs
	own      = access{own: true} // anyone signed in: their own account, signing out
)

func roles(r ...payout.Role) access { return access{roles: r} }

// widgetReturnPrefix is where the sandbox's card widget posts a stored
// card's token back to the console.
const widgetReturnPrefix = "/widget-return"

// Body limits: the provider's webhooks may carry a whole session; nothing a
// person sends is more than a small form.
const (
	webhookBodyLimit = "1M"
	formBodyLimit    = "64K"
)

// compressors is how many responses are compressed at once (compressAtMost).
const compressors = 16

// compressAtMost lets at most n responses through zip at a time; the others
// go out uncompressed. Each gzip writer holds about 600 KB, and the pool
// behind zip makes a new one for every response in flight when it has none
// free: 500 sign-ins at once, each answered with the sign-in page, took 300
// MB of writers. Sixteen hold about 10 MB, and a busy moment costs bytes on
// the wire, never memory.
func compressAtMost(n int, zip echo.MiddlewareFunc) echo.MiddlewareFunc {
	slots := make(chan struct{}, n)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		zipped := zip(next)
		return func(c echo.Context) error {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				return zipped(c)
			default:
				// Compressed or not, the answer depends on Accept-Encoding.
				c.Response().Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
				return next(c)
			}
		}
	}
}

// table is the whole URL space on one screen, grouped by who calls it and
// then by feature. Every route states who may reach it; there is no default.
// The navigation lists the labelled pages in this order.
func (a *app) table() []group {
	maker, approver, admin, auditor := payout.RoleMaker, payout.RoleApprover, payout.RoleAdmin, payout.RoleAuditor
	small := middleware.BodyLimit(formBodyLimit)
	// Pages and files are compressed; the provider's webhooks are not (their
	// replies are two bytes), nor are the probes. The fastest level: pages are
	// a few kilobytes either way, and a CSV export of a hundred thousand rows
	// spent more time in level 5's compressor than in the database.
	zip := compressAtMost(compressors, middleware.GzipWithConfig(middleware.GzipConfig{Level: gzip.BestSpeed}))
	return []group{
		// Files and probes: no session, nothing to post.
		{"/static", []echo.MiddlewareFunc{small, zip}, []route{
			{"GET", "/*", public, echo.WrapHandler(http.StripPrefix("/static/", staticHandler())), ""},
		}},
		{"/favicon.ico", []echo.MiddlewareFunc{small}, []route{
			{"GET", "", public, favicon, ""},
		}},
		{"/healthz", []echo.MiddlewareFunc{small}, []route{
			{"GET", "", public, a.health, ""},
		}},
		{"/readyz", []echo.MiddlewareFunc{small}, []route{
			{"GET", "", public, a.ready, ""},
		}},
		// The provider: no session or CSRF token; the signature on the raw body
		// is checked instead.
		{"/webhooks", []echo.MiddlewareFunc{middleware.BodyLimit(webhookBodyLimit)}, []route{
			{"POST", "/smartglocal", public, a.webhook, ""},
		}},
		// The sandbox's card widget coming back with a card's token: a session,
		// but the widget's Origin instead of a CSRF token (it cannot know one).
		{widgetReturnPrefix, []echo.MiddlewareFunc{small, readForm, a.loadSession, a.fromWidget}, []route{
			{"POST", "/recipients/:id", roles(maker), a.cardFromWidget, ""},
		}},
		// People: a small body, read once (a malformed one is refused with
		// 400), the session, and the CSRF token on every unsafe request.
		{"", []echo.MiddlewareFunc{small, zip, readForm, a.loadSession, a.checkCSRF}, []route{
			{"GET", "/login", public, a.loginForm, ""},
			{"POST", "/login", public, a.loginLimit(a.login), ""},
			{"POST", "/logout", own, a.logout, ""},
			{"GET", "/signin/:token", public, a.signinLink, ""},
			{"POST", "/signin/:token", public, a.redeemSigninLink, ""},

			{"GET", "/", own, a.dashboard, "Dashboard"},
			{"GET", "/dashboard/live", signedIn, a.dashboardLive, ""},
			// A person's own settings; the header links here, not the navigation.
			{"GET", "/account", own, a.account, ""},
			{"GET", "/account/second-factor.png", own, a.enrolmentQR, ""},
			{"POST", "/account/second-factor/new", own, a.beginEnrolment, ""},
			{"POST", "/account/second-factor", own, a.confirmEnrolment, ""},
			{"POST", "/account/time-zone", own, a.saveTimeZone, ""},
			{"POST", "/account/notifications", own, a.saveNotifications, ""},
			{"POST", "/balance/refresh", roles(maker, approver, admin), a.refreshBalance, ""},
			{"POST", "/attention/:id/acknowledge", roles(approver, admin), a.acknowledgeAttention, ""},

			{"GET", "/queue", roles(maker, approver, admin), a.queue, "Queue"},
			{"GET", "/queue/live", roles(maker, approver, admin), a.queueLive, ""},
			{"GET", "/payouts/new", roles(maker), a.newPayout, "New payout"},
			{"POST", "/payouts", roles(maker), a.createPayout, ""},
			{"GET", "/payouts", signedIn, a.history, "Payouts"},
			{"GET", "/payouts.csv", signedIn, a.exportPayouts, ""},
			{"GET", "/payouts/:id", signedIn, a.showPayout, ""},
			{"GET", "/payouts/:id/live", signedIn, a.payoutLive, ""},
			{"POST", "/payouts/:id/approve", roles(approver), a.approvePayout, ""},
			{"POST", "/payouts/:id/cancel", roles(approver, maker), a.cancelPayout, ""},
			{"POST", "/payouts/:id/return", roles(approver), a.recordReturn, ""},

			{"GET", "/recipients", roles(maker, approver, admin), a.recipients, "Recipients"},
			{"POST", "/recipients", roles(maker), a.createRecipient, ""},
			{"GET", "/recipients/:id", roles(maker, approver, admin), a.showRecipient, ""},
			{"POST", "/recipients/:id/cards", roles(maker), a.addCard, ""},
			{"POST", "/recipients/:id/cards/:card/verify", roles(maker, approver), a.verifyCard, ""},
			{"POST", "/recipients/:id/cards/:card/remove", roles(maker, approver), a.removeCard, ""},
			{"POST", "/recipients/:id/cards/:card/refresh", roles(maker, approver), a.refreshCard, ""},
			{"GET", "/recipients/:id/accounts/new", roles(maker), a.newAccount, ""},
			{"POST", "/recipients/:id/accounts", roles(maker), a.addAccount, ""},
			{"GET", "/recipients/:id/accounts/:account", roles(maker, approver, admin), a.showAccount, ""},
			{"POST", "/recipients/:id/accounts/:account/verify", roles(maker, approver), a.verifyAccount, ""},
			{"POST", "/recipients/:id/accounts/:account/remove", roles(maker, approver), a.removeAccount, ""},

			{"GET", "/audit", roles(admin, auditor), a.auditLog, "Audit log"},
			{"GET", "/audit.csv", roles(admin, auditor), a.exportAuditCSV, ""},
			{"GET", "/audit.jsonl", roles(admin, auditor), a.exportAuditJSONL, ""},

			{"GET", "/admin/users", roles(admin), a.users, "Users"},
			{"POST", "/admin/users", roles(admin), a.createUser, ""},
			{"GET", "/admin/users/:id", roles(admin), a.editUser, ""},
			{"POST", "/admin/users/:id", roles(admin), a.updateUser, ""},
			{"POST", "/admin/users/:id/password", roles(admin), a.resetPassword, ""},
			{"POST", "/admin/users/:id/second-factor/reset", roles(admin), a.resetSecondFactor, ""},
			{"POST", "/admin/users/:id/sessions/end", roles(admin), a.endSessions, ""},
			{"GET", "/admin/changes", roles(admin), a.changes, "Changes"},
			{"POST", "/admin/changes/:id/approve", roles(admin), a.approveChange, ""},
			{"POST", "/admin/changes/:id/reject", roles(admin), a.rejectChange, ""},
			{"POST", "/admin/changes/:id/withdraw", roles(admin), a.withdrawChange, ""},
			{"POST", "/admin/changes/:id/handover", roles(admin), a.takeHandover, ""},
			{"GET", "/admin/settings", roles(admin), a.settings, "Settings"},
			{"POST", "/admin/settings", roles(admin), a.saveSettings, ""},
			{"POST", "/admin/settings/second-factor", roles(admin), a.saveFactorPolicy, ""},
			{"POST", "/admin/settings/sender", roles(admin), a.saveSender, ""},
		}},
	}
}

// allRoutes lists every route with its full path, in table order.
func (a *app) allRoutes() []route {
	var out []route
	for _, g := range a.table() {
		for _, r := range g.routes {
			r.path = g.prefix + r.path
			out = append(out, r)
		}
	}
	return out
}

func (a *app) routes(e *echo.Echo) {
	e.Use(a.logRequests)
	e.Use(middleware.Recover())
	e.Use(a.secureHeaders)
	for _, g := range a.table() {
		eg := e.Group(g.prefix, g.middleware...)
		for _, r := range g.routes {
			eg.Add(r.method, r.path, a.guard(r.acc, r.handler))
		}
	}
	a.nav = a.navigation()
}

// navigation is the labelled pages of the table, in its order, each with
// the access of its route: a user sees exactly the pages they may open.
func (a *app) navigation() []navEntry {
	var out []navEntry
	for _, r := range a.allRoutes() {
		if r.nav != "" && r.method == http.MethodGet {
			out = append(out, navEntry{views.NavItem{Href: r.path, Label: r.nav}, r.acc})
		}
	}
	return out
}

// navEntry is a page in the navigation and who may open it.
type navEntry struct {
	item views.NavItem
	acc  access
}

// favicon sends browsers that ask for /favicon.ico (not every page they
// fetch is HTML with a link to the icon) to the one icon there is.
func favicon(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg")
}

// staticHandler serves the embedded files; they change only with the binary.
// A folder is not a file: it answers 404 rather than listing what is in it.
func staticHandler() http.Handler {
	files := http.FileServerFS(static.Files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "."
		}
		if info, err := fs.Stat(static.Files, name); err != nil || info.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
