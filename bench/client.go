package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// transport is shared by every client: kept-alive connections, enough of
// them for 64 webhook clients.
var transport = &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}

// person is one signed-in browser: its cookies and its session's CSRF token.
type person struct {
	base string
	c    *http.Client
	csrf string
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

func newPerson(base string) *person {
	jar, _ := cookiejar.New(nil)
	return &person{base: base, c: &http.Client{Jar: jar, Transport: transport, Timeout: 10 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches path and reads the whole body, as a browser would.
func (p *person) get(path string) (int, []byte, error) {
	resp, err := p.c.Get(p.base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if m := csrfMeta.FindSubmatch(body); m != nil {
		p.csrf = string(m[1])
	}
	return resp.StatusCode, body, err
}

// post sends a form with the session's CSRF token; it returns the status and Location.
func (p *person) post(path string, form url.Values) (int, string, error) {
	form.Set("_csrf", p.csrf)
	req, _ := http.NewRequest(http.MethodPost, p.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// signIn signs in once; the benchmark then reuses the session, as a person
// does (sign-ins are rate-limited per address).
func signIn(base, email, password string) (*person, error) {
	p := newPerson(base)
	if _, _, err := p.get("/login"); err != nil {
		return nil, err
	}
	status, loc, err := p.post("/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	if status != http.StatusSeeOther || loc != "/" {
		return nil, fmt.Errorf("sign in as %s: %d to %q", email, status, loc)
	}
	if status, _, err := p.get("/"); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("sign in as %s: the dashboard answered %d, %v", email, status, err)
	}
	return p, nil
}

// sample is what a measurement saw: every latency, sorted, and the failures.
type sample struct {
	lat     []time.Duration
	failed  int
	first   string // the first failure
	elapsed time.Duration
}

func (s sample) n() int { return len(s.lat) }

// q is the latency at quantile q (0.5, 0.95, 0.99), by the nearest rank.
func (s sample) q(q float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(q*float64(len(s.lat))+0.5) - 1
	return s.lat[min(max(i, 0), len(s.lat)-1)]
}

// rate is completed requests per second.
func (s sample) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(len(s.lat)) / s.elapsed.Seconds()
}

// bounds say how long a measurement runs: at least min requests and dur,
// at most max requests.
type bounds struct {
	dur      time.Duration
	min, max int
}

// measure runs do from clients goroutines in a closed loop within b and
// times each call; an error counts as a failure, not a latency.
func measure(clients int, b bounds, do func(i int) error) sample {
	var mu sync.Mutex
	var s sample
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.max || (i >= b.min && time.Since(start) >= b.dur) {
					return
				}
				t := time.Now()
				err := do(i)
				d := time.Since(t)
				mu.Lock()
				if err != nil {
					s.failed++
					if s.first == "" {
						s.first = err.Error()
					}
				} else {
					s.lat = append(s.lat, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s.elapsed = time.Since(start)
	slices.Sort(s.lat)
	return s
}

// page fetches path as p and fails unless it answers 200.
func page(p *person, path string) error {
	resp, err := p.c.Get(p.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return nil
}
