package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// health reports whether the database and the provider answer. It says nothing
// more than "ok" or "unavailable" for each, so it is safe to leave public.
func (a *app) health(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	body := map[string]string{"database": "ok", "provider": "ok"}
	status := http.StatusOK
	if err := a.DB.Ping(ctx); err != nil {
		body["database"], status = "unavailable", http.StatusServiceUnavailable
	}
	if a.ProviderCheck != nil {
		if err := a.ProviderCheck(ctx); err != nil {
			body["provider"], status = "unavailable", http.StatusServiceUnavailable
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, body)
}
