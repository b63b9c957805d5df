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
// not). It reports from what this process remembers and calls no one; 503
// when not ready, saying why.
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
		now := time.Now()
		if read := a.Provider.LastBalanceReading(); read.IsZero() {
			r.NotReady = append(r.NotReady, "no balance reading yet")
		} else {
			age := int64(now.Sub(read) / time.Second)
			r.BalanceAge = &age
			if now.Sub(read) > a.staleAfter() {
				r.NotReady = append(r.NotReady, "the last balance reading is older than "+a.staleAfter().String())
			}
		}
		if last := a.Provider.LastCall(); !last.At.IsZero() {
			r.LastCall = &providerCalls{Method: last.Method, Result: last.Result, Code: last.Code, SecondsAgo: int64(now.Sub(last.At) / time.Second)}
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
