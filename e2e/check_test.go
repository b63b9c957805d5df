package e2e

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// viewport is a screen the journeys run at: a desktop browser and a phone.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	desktop   = viewport{"desktop", 1280, 900, false}
	phone     = viewport{"phone", 390, 844, true}
	viewports = []viewport{desktop, phone}
)

// newBrowserAt starts a browser (one person) showing pages at vp; a phone is
// emulated as one: narrow, touch, and honouring the page's viewport meta tag.
func newBrowserAt(t *testing.T, vp viewport) context.Context {
	t.Helper()
	ctx := newBrowser(t)
	if vp.mobile {
		run(t, ctx, chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	}
	return ctx
}

//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolation is what the journeys keep of one axe-core violation.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkPage asserts what must hold on every page at every width: nothing
// scrolls sideways, and axe-core finds no serious or critical violation.
// With E2E_SHOTS set to a folder, it also saves a screenshot there, to look at.
func checkPage(t *testing.T, ctx context.Context, vp viewport, name string) {
	t.Helper()
	type widths struct {
		Scroll int64 `json:"scroll"`
		Inner  int64 `json:"inner"`
		Client int64 `json:"client"`
	}
	w := get(t, ctx, chromedp.Evaluate[widths](`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth, client: document.documentElement.clientWidth})`))
	if w.Scroll > w.Inner || w.Scroll > vp.width {
		wide := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 8).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')`))
		t.Errorf("%s at %s: the page scrolls sideways (scrollWidth %d, innerWidth %d, clientWidth %d); too wide: %v", name, vp.name, w.Scroll, w.Inner, w.Client, wide)
	}
	if vp.mobile {
		// Everything a thumb presses is at least 44 px each way (links inside
		// running text excepted, as WCAG does).
		small := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('button, .button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea, nav a, label.check, summary, td a, .who a')]
			.filter(e => e.offsetParent !== null && !e.closest('dialog:not([open])'))
			.map(e => [e, e.getBoundingClientRect()])
			.filter(([e, r]) => r.height < 43.5 || r.width < 43.5)
			.slice(0, 8).map(([e, r]) => e.tagName.toLowerCase() + ' "' + (e.textContent || e.name || '').trim().slice(0, 30) + '" ' + Math.round(r.width) + 'x' + Math.round(r.height))`))
		if len(small) > 0 {
			t.Errorf("%s at %s: touch targets under 44 px: %v", name, vp.name, small)
		}
	}
	if get(t, ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`)) == false {
		run(t, ctx, chromedp.Evaluate[chromedp.Void](axeSource))
	}
	violations := get(t, ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + n.failureSummary)})))`,
		chromedp.EvalAwaitPromise))
	for _, v := range violations {
		t.Errorf("%s at %s: axe %s (%s): %s\n  %s", name, vp.name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
	}
	if dir := os.Getenv("E2E_SHOTS"); dir != "" {
		png := get(t, ctx, chromedp.FullScreenshot(100))
		os.MkdirAll(dir, 0o755)
		file := filepath.Join(dir, fmt.Sprintf("%s-%s.png", strings.NewReplacer("/", "_", " ", "_").Replace(name), vp.name))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// onBothWidths checks the page a desktop browser shows (checkPage), then the
// same page on a phone, and saves both screenshots (name-desktop,
// name-phone) when UPDATE_SCREENSHOTS is set; the browser is a desktop
// again afterwards.
func onBothWidths(t *testing.T, ctx context.Context, name, shot string) {
	t.Helper()
	checkPage(t, ctx, desktop, name)
	screenshot(t, ctx, shot+"-desktop")
	run(t, ctx, chromedp.EmulateViewport(phone.width, phone.height, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main")))
	checkPage(t, ctx, phone, name)
	screenshot(t, ctx, shot+"-phone")
	run(t, ctx, chromedp.EmulateReset(), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main")))
}

// visit opens a page and checks it (checkPage).
func visit(t *testing.T, ctx context.Context, vp viewport, url, name string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main")))
	checkPage(t, ctx, vp, name)
	if file, ok := readmeShots[name]; ok {
		screenshot(t, ctx, file+"-"+vp.name)
	}
}
