package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"countersign/views"
)

// handleError is the one place errors become responses. Client errors show their
// own message; anything else is logged once with a reference and shown as a
// friendly page that never carries internal error text.
func (a *app) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, message, ref := http.StatusInternalServerError, "Something went wrong", ""
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code < 500 {
		status = he.Code
		if m, ok := he.Message.(string); ok {
			message = m
		} else {
			message = http.StatusText(status)
		}
	} else {
		ref = newReference()
		a.Logger.Error("request failed", "ref", ref, "method", c.Request().Method, "path", c.Path(), "err", err)
	}
	if c.Request().Header.Get("HX-Request") != "" {
		// htmx swaps only 2xx by default; our app.js shows this text instead.
		c.Response().Header().Set("Content-Type", "text/plain; charset=utf-8")
		c.String(status, message+refSuffix(ref))
		return
	}
	if _, ok := c.Get(requestKey).(*request); !ok || current(c).session == nil {
		c.String(status, message+refSuffix(ref))
		return
	}
	f, ferr := a.frame(c, message, "")
	if ferr != nil {
		c.String(status, message+refSuffix(ref))
		return
	}
	if rerr := render(c, status, views.ErrorPage(views.ErrorModel{Frame: f, Status: status, Message: message, Reference: ref})); rerr != nil {
		a.Logger.Error("render error page", "err", rerr)
		c.String(status, message+refSuffix(ref))
	}
}

func refSuffix(ref string) string {
	if ref == "" {
		return ""
	}
	return " (reference " + ref + ")"
}

func newReference() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
