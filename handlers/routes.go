package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"countersign/payout"
	"countersign/static"
)

// route is one line of the routes table: who may call what.
type route struct {
	method, path string
	acc          access
	handler      echo.HandlerFunc
}

var (
	public   = access{public: true}
	signedIn = access{}
)

func roles(r ...payout.Role) access { return access{roles: r} }

// table is the whole URL space on one screen, grouped by feature. Every route
// states who may reach it; there is no default.
func (a *app) table() []route {
	maker, approver, admin, auditor := payout.RoleMaker, payout.RoleApprover, payout.RoleAdmin, payout.RoleAuditor
	return []route{
		{"GET", "/healthz", public, a.health},
		{"GET", "/login", public, a.loginForm},
		{"POST", "/login", public, a.login},
		{"POST", "/logout", signedIn, a.logout},

		{"GET", "/", signedIn, a.dashboard},

		{"GET", "/payouts", signedIn, a.history},
		{"GET", "/payouts.csv", signedIn, a.exportPayouts},
		{"GET", "/payouts/new", roles(maker), a.newPayout},
		{"POST", "/payouts", roles(maker), a.createPayout},
		{"GET", "/payouts/:id", signedIn, a.showPayout},
		{"POST", "/payouts/:id/approve", roles(approver), a.approvePayout},
		{"POST", "/payouts/:id/cancel", roles(approver, maker), a.cancelPayout},
		{"GET", "/queue", roles(maker, approver, admin), a.queue},
		{"GET", "/queue/live", roles(maker, approver, admin), a.queueLive},
		{"POST", "/webhooks/smartglocal", public, a.webhook},

		{"GET", "/recipients", roles(maker, approver, admin), a.recipients},
		{"POST", "/recipients", roles(maker), a.createRecipient},
		{"GET", "/recipients/:id", roles(maker, approver, admin), a.showRecipient},
		{"POST", "/recipients/:id/cards", roles(maker), a.addCard},
		{"POST", "/recipients/:id/cards/:card/verify", roles(maker, approver), a.verifyCard},
		{"POST", "/recipients/:id/cards/:card/remove", roles(maker, approver), a.removeCard},
		{"POST", "/recipients/:id/cards/:card/refresh", roles(maker, approver), a.refreshCard},
		{"POST", "/balance/refresh", roles(maker, approver, admin), a.refreshBalance},

		{"GET", "/audit", roles(admin, auditor), a.auditLog},

		{"GET", "/admin/users", roles(admin), a.users},
		{"POST", "/admin/users", roles(admin), a.createUser},
		{"GET", "/admin/users/:id", roles(admin), a.editUser},
		{"POST", "/admin/users/:id", roles(admin), a.updateUser},
		{"POST", "/admin/users/:id/password", roles(admin), a.resetPassword},
		{"POST", "/admin/users/:id/sessions/end", roles(admin), a.endSessions},
		{"GET", "/admin/settings", roles(admin), a.settings},
		{"POST", "/admin/settings", roles(admin), a.saveSettings},
	}
}

func (a *app) routes(e *echo.Echo) {
	e.Use(middleware.Recover())
	e.Use(a.secureHeaders)
	e.Use(middleware.BodyLimit("64K"))
	e.Use(a.loadSession)
	e.Use(a.checkCSRF)
	for _, r := range a.table() {
		e.Add(r.method, r.path, a.guard(r.acc, r.handler))
	}
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", staticHandler())))
}

// staticHandler serves the embedded files; they change only with the binary.
func staticHandler() http.Handler {
	fs := http.FileServerFS(static.Files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fs.ServeHTTP(w, r)
	})
}
