package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/labstack/echo/v4"
)

// requestIDKey holds the request's id on the echo context.
const requestIDKey = "countersign.request_id"

// requestID returns the id logRequests gave this request.
func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// logRequests gives every request an id, answers it in X-Request-Id, and
// writes one access log line when the request is done: what was asked, the
// answer, how long it took, and who asked. The same id is on error pages and
// in the log line of a failure, so that a person can tell support which
// request went wrong. An id sent by a proxy in front is kept when it looks
// like one, so that its log and ours can be matched.
//
// The query string is left out of the log: filters may hold names (and a
// careless search, a card number).
func (a *app) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !plausibleRequestID(id) {
			id = newRequestID()
		}
		c.Set(requestIDKey, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		if err := next(c); err != nil {
			c.Error(err) // the status and size below are then the ones sent
		}
		user := int64(0)
		if r, ok := c.Get(requestKey).(*request); ok && r.user != nil {
			user = r.user.ID
		}
		elapsed := time.Since(start)
		a.Logger.Info("request", "id", id, "method", req.Method, "path", req.URL.Path, "status", c.Response().Status,
			"bytes", c.Response().Size, "duration", elapsed.Round(time.Microsecond), "ip", c.RealIP(), "user", user,
			"poll", req.Header.Get(headerPoll) != "")
		if a.ObserveRequest != nil {
			a.ObserveRequest(c.Path(), req.Method, c.Response().Status, elapsed)
		}
		return nil
	}
}

// plausibleRequestID accepts an incoming id of up to 64 letters, digits,
// dots, dashes and underscores: anything else is not put in our logs.
func plausibleRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
