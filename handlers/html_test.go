package handlers

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// doc parses a page for tests that look into it.
func doc(t *testing.T, body string) *html.Node {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return n
}

// findAll returns the elements under n that match, in document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

// testID matches elements with that data-testid.
func testID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "data-testid") == id }
}

// hasClass matches elements of a tag ("" for any) with that class.
func hasClass(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return (tag == "" || n.Data == tag) && slices.Contains(strings.Fields(attr(n, "class")), class)
	}
}

// text is the text under n with runs of space made one.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
			b.WriteString(" ")
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// texts is the text of each element under n that matches.
func texts(n *html.Node, match func(*html.Node) bool) []string {
	var out []string
	for _, e := range findAll(n, match) {
		out = append(out, text(e))
	}
	return out
}

// htmlNode is an element of a parsed page.
type htmlNode = html.Node
