//go:build ignore

// gen writes passwords.txt from the common-password list of the npm package
// @zxcvbn-ts/language-common (MIT, see LICENSE): the most frequent passwords
// first, lower case. Run it on the package's dist/passwords.json.mjs:
//
//	npm pack @zxcvbn-ts/language-common@4.1.3 && tar xzf zxcvbn-ts-language-common-4.1.3.tgz
//	go run gen.go package/dist/passwords.json.mjs > passwords.txt
//
// It keeps the Top most frequent entries, which the policy also matches as
// the stem of a longer password ("password" in "password1234"), and every
// entry of MinLength characters or more, the only ones that pass the length
// rule as they are.
package main

import (
	"fmt"
	"os"
	"regexp"
	"unicode/utf8"
)

const (
	top       = 5000
	minLength = 12
)

func main() {
	src, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	m := regexp.MustCompile(`decompress\("([^"]*)"\)`).FindSubmatch(src)
	if m == nil {
		fmt.Fprintln(os.Stderr, "no compressed list found")
		os.Exit(1)
	}
	// The package's encoding: each entry is an upper-case letter telling how
	// many leading characters it shares with the entry before (A = 0), then
	// the rest of the entry (the entries are lower case).
	enc, last := string(m[1]), ""
	var words []string
	for i := 0; i < len(enc); {
		shared := int(enc[i] - 'A')
		j := i + 1
		for j < len(enc) && !(enc[j] >= 'A' && enc[j] <= 'Z') {
			j++
		}
		last = last[:shared] + enc[i+1:j]
		words = append(words, last)
		i = j
	}
	for rank, w := range words {
		if rank < top || utf8.RuneCountInString(w) >= minLength {
			fmt.Println(w)
		}
	}
}
