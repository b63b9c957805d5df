package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"countersign/views"
)

func (a *app) dashboard(c echo.Context) error {
	f, err := a.frame(c, "Dashboard", "/")
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DashboardPage(views.DashboardModel{Frame: f}))
}
