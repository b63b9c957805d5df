package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/password"
	"countersign/views"
)

// statusOf is the one table from an error to an HTTP status. Refusals carry
// their kind (package fail); Echo's own errors (no such route, a body over the
// limit) carry their status; anything else is a failure of ours: 500.
func statusOf(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	switch fail.KindOf(err) {
	case fail.Invalid:
		if errors.Is(err, fail.ErrMalformed) {
			return http.StatusBadRequest
		}
		return http.StatusUnprocessableEntity
	case fail.Unauthorized:
		return http.StatusUnauthorized
	case fail.Forbidden:
		return http.StatusForbidden
	case fail.NotFound:
		return http.StatusNotFound
	case fail.Conflict:
		return http.StatusConflict
	case fail.TooMany:
		return http.StatusTooManyRequests
	case fail.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// messageOf is what a person is told about err: a refusal's own message,
// Echo's message for its own errors below 500, never a failure's text.
func messageOf(err error, status int) string {
	var he *echo.HTTPError
	if errors.As(err, &he) && status < 500 {
		switch status {
		case http.StatusNotFound:
			return "There is no page at this address."
		case http.StatusMethodNotAllowed:
			return "This address cannot be used that way."
		}
		if m, ok := he.Message.(string); ok {
			return m
		}
		return http.StatusText(status)
	}
	return fail.MessageOf(err)
}

// refused reports whether err is a refusal a page can show as it is: any
// *fail.Error that is not Internal. Handlers that re-render a form ask this;
// everything else goes to handleError.
func refused(err error) bool {
	return err != nil && fail.KindOf(err) != fail.Internal
}

// showRefusal puts a refusal on a page that is shown again, where a flash
// message would go.
func showRefusal(f *views.Frame, err error) {
	f.Flashes = append(f.Flashes, views.Flash{Kind: "error", Text: fail.MessageOf(err)})
}

// handleError is the one place errors become responses: statusOf picks the
// status, a failure (500) is logged once with the request's id, and the
// answer is an htmx fragment, plain text (no session: webhooks, health,
// static) or the error page, inside the console's frame, naming the request
// id. It never shows a failure's internal text.
func (a *app) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := statusOf(err)
	message, id, ref := messageOf(err, status), requestID(c), ""
	if id == "" { // not through logRequests (a unit test)
		id = newRequestID()
	}
	if errors.Is(err, password.ErrBusy) {
		c.Response().Header().Set("Retry-After", retryAfterBusy)
	}
	switch {
	case status == http.StatusInternalServerError:
		ref = id
		a.Logger.Error("request failed", "id", id, "method", c.Request().Method, "path", c.Path(), "err", err)
	case status == http.StatusServiceUnavailable:
		a.Logger.Warn("request refused: a dependency is unavailable", "id", id, "method", c.Request().Method, "path", c.Path(), "err", err)
	}
	if c.Request().Header.Get("HX-Request") != "" {
		// htmx swaps only 2xx by default; our app.js shows this text instead.
		c.Response().Header().Set("Content-Type", "text/plain; charset=utf-8")
		c.String(status, message+refSuffix(ref))
		return
	}
	if req, ok := c.Get(requestKey).(*request); !ok || req.session == nil {
		c.String(status, message+refSuffix(ref))
		return
	}
	f, ferr := a.frame(c, message, "")
	if ferr != nil {
		c.String(status, message+refSuffix(ref))
		return
	}
	m := views.ErrorModel{Frame: f, Status: status, Message: message, Failure: ref != "", RequestID: id}
	if rerr := render(c, status, views.ErrorPage(m)); rerr != nil {
		a.Logger.Error("render error page", "err", rerr)
		c.String(status, message+refSuffix(ref))
	}
}

func refSuffix(ref string) string {
	if ref == "" {
		return ""
	}
	return " (request " + ref + ")"
}
