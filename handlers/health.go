package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/smartglocal"
)

// health is the liveness probe: the process answers and the database does.
// It never calls the provider, so a provider outage does not make an
// orchestrator restart a console that is fine, and anonymous traffic here
// costs the provider nothing.
func (a *app) health(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	body := map[string]string{"database": "ok"}
	status := http.StatusOK
	if err := a.DB.Ping(ctx); err != nil {
		body["database"], status = "unavailable", http.StatusServiceUnavailable
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, body)
}

// readiness is what /readyz answers.
type readiness struct {
	Ready    bool     `json:"ready"`
	Database string   `json:"database"`
	NotReady []string `json:"not_ready,omitempty"` // why not, in words
	// BalanceAge is the age of the last balance reading in seconds; null when
	// there is none yet.
	BalanceAge *int64         `json:"balance_age_seconds"`
	LastCall   *providerCalls `json:"provider_last_call"` // null before the first call
}

type providerCalls struct {
	Method     string `json:"method"`
	Result     string `json:"result"` // ok, refused or unknown
	Code       string `json:"code,omitempty"`
	SecondsAgo int64  `json:"seconds_ago"`
}

// ready is the readiness probe: the database answers, a balance reading is
// younger than BalanceStaleAfter, and the provider's last call got an answer
// (a refusal is an answer; a timeout, a reset, a 5xx or a garbled reply is
// not). It calls no one; 503 when not ready, saying why.
//
// The balance reading is the database's latest, whichever instance took it:
// only the leader reads the balance, and another instance is just as ready.
// The last call is this process's own: what it would meet on its next one.
func (a *app) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	r := readiness{Database: "ok"}
	if err := a.DB.Ping(ctx); err != nil {
		r.Database = "unavailable"
		r.NotReady = append(r.NotReady, "the database does not answer")
	}
	if a.Provider == nil {
		r.NotReady = append(r.NotReady, "no provider is configured")
	} else {
		now := a.Now()
		var read time.Time
		if readings, err := a.DB.LatestBalances(ctx); err == nil {
			for _, b := range readings {
				if b.CheckedAt.After(read) {
					read = b.CheckedAt
				}
			}
		}
		if read.IsZero() {
			r.NotReady = append(r.NotReady, "no balance reading yet")
		} else {
			age := int64(now.Sub(read) / time.Second)
			r.BalanceAge = &age
			if now.Sub(read) > a.staleAfter() {
				r.NotReady = append(r.NotReady, "the last balance reading is older than "+a.staleAfter().String())
			}
		}
		if last := a.Provider.LastCall(); !last.At.IsZero() {
			r.LastCall = &providerCalls{Method: last.Method, Result: last.Result, Code: last.Code, SecondsAgo: int64(time.Since(last.At) / time.Second)}
			if last.Result == smartglocal.ResultUnknown {
				r.NotReady = append(r.NotReady, "the provider's last call got no usable answer")
			}
		}
	}
	r.Ready = len(r.NotReady) == 0
	status := http.StatusOK
	if !r.Ready {
		status = http.StatusServiceUnavailable
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, r)
}
