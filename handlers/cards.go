package handlers

import (
	"github.com/labstack/echo/v4"

	"countersign/views"
)

// cardOptions lists the saved, verified cards a maker may pay to.
func (a *app) cardOptions(c echo.Context) ([]views.CardOption, error) { return nil, nil }

// gauges shows the money on hand per currency.
func (a *app) gauges(c echo.Context) ([]views.Gauge, error) { return nil, nil }
