// Package static holds the console's CSS, scripts and vendored libraries,
// embedded so the binary serves them with nothing fetched at run time.
package static

import "embed"

// Files is the static tree, served under /static/.
//
//go:embed app.css app.js favicon.svg vendor
var Files embed.FS
