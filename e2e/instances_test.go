package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/stepup"
	"countersign/store"
	"countersign/store/pgtest"
)

// proc is a running countersign process and everything it printed.
type proc struct {
	cmd *exec.Cmd
	out *syncBuffer
}

// startProc runs the binary with args and extra environment; it is stopped
// (interrupted, then killed) when the test ends unless it was killed before.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), out: &syncBuffer{}}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { p.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			p.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// line waits for a printed line that starts with prefix and returns its rest.
func (p *proc) line(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(p.out.String()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				return strings.TrimSpace(rest)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%v never printed %q; output:\n%s", p.cmd.Args, prefix, p.out.String())
	return ""
}

// instance is one console process: where it serves people and its metrics.
type instance struct {
	name    string
	proc    *proc
	url     string
	metrics string
	dead    atomic.Bool
}

// leads reports whether the instance's metrics say it leads.
func (in *instance) leads() bool {
	resp, err := http.Get(in.metrics)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\ncountersign_leader 1\n")
}

// signInAt signs in through the instance at base. The session lives in the
// shared database, so the same cookie works on every instance: p.base may
// point at either.
func signInAt(t *testing.T, base, email, password string) *person {
	t.Helper()
	p := newPerson(t, base)
	p.get("/login")
	if status, loc := p.post("/login", url.Values{"email": {email}, "password": {password}}); status != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign in as %s: %d %q", email, status, loc)
	}
	p.get("/") // the new session's token
	return p
}

// enrolOverHTTP sets up p's second factor on their account page, as an
// approver must before deciding; the confirming code opens the session's
// step-up window, which covers the decisions of the next minutes.
func enrolOverHTTP(t *testing.T, p *person) {
	t.Helper()
	if status, loc := p.post("/account/second-factor/new", url.Values{}); status != http.StatusSeeOther || loc != "/account" {
		t.Fatalf("start setting up the second factor: %d %q", status, loc)
	}
	_, body := p.get("/account")
	key := testidText(body, "totp-secret")
	if key == "" {
		t.Fatalf("no second-factor key on the account page:\n%s", body)
	}
	code, err := stepup.Code(key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if status, loc := p.post("/account/second-factor", url.Values{"otp": {code}}); status != http.StatusSeeOther || loc != "/" {
		t.Fatalf("confirm the second factor: %d %q", status, loc)
	}
}

// approveAt posts p's approval of a payout at version to the instance at
// base. It runs in many goroutines at once, so it never fails the test (an
// instance killed under the request answers 0) and leaves p's token alone.
func approveAt(p *person, base string, id, version int64) int {
	form := url.Values{"version": {strconv.FormatInt(version, 10)}, "_csrf": {p.csrf}}
	resp, err := p.c.PostForm(fmt.Sprintf("%s/payouts/%d/approve", base, id), form)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// testidText is the text of the element with data-testid=id in a page.
func testidText(page, id string) string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return ""
	}
	var found *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for _, a := range n.Attr {
			if a.Key == "data-testid" && a.Val == id && found == nil {
				found = n
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		return ""
	}
	var b strings.Builder
	for c := found.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// webhookSplitter hands the sandbox's webhooks to the instances in turn; a
// delivery to an instance that is down fails (502), and the sandbox retries.
type webhookSplitter struct {
	mu        sync.Mutex
	targets   []*instance
	n         int
	delivered map[string]int
}

func (s *webhookSplitter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if len(s.targets) == 0 {
		s.mu.Unlock()
		http.Error(w, "no console yet", http.StatusServiceUnavailable)
		return
	}
	in := s.targets[s.n%len(s.targets)]
	s.n++
	s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, in.url+r.URL.Path, strings.NewReader(string(body)))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, "instance down", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		s.mu.Lock()
		s.delivered[in.name]++
		s.mu.Unlock()
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

const instancePassword = "correct horse battery staple"

// TestTwoInstancesOnePostgres is the proof with real processes: PostgreSQL,
// the standalone sandbox and two console binaries. Approvals race across both
// instances on the same payouts; webhooks go to the instances in turn; the
// leader is killed with SIGKILL while its confirms are paid but unanswered,
// and the other instance takes the lead and settles what was left in doubt.
// At the end every payout is in the provider's state, each paid by exactly
// one session/confirm, and the audit log verifies.
func TestTwoInstancesOnePostgres(t *testing.T) {
	dbURL := pgtest.Database(t)
	dir := t.TempDir()
	ctx := context.Background()

	split := &webhookSplitter{delivered: map[string]int{}}
	hooks := &http.Server{Handler: split}
	hooksLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hooks.Serve(hooksLn)
	t.Cleanup(func() { hooks.Close() })

	// A slow provider: each reply waits a second after the request took
	// effect, so a confirm can be paid and not yet answered when its
	// instance dies.
	keys := filepath.Join(dir, "keys")
	sb := startProc(t, nil, "sandbox", "-addr", "127.0.0.1:0", "-project", "instances", "-keys-dir", keys,
		"-webhook-url", "http://"+hooksLn.Addr().String()+"/webhooks/smartglocal", "-webhook-delay", "50ms", "-reply-delay", "1s")
	sbURL := sb.line(t, "sandbox listening on ")
	sbURL = strings.Fields(sbURL)[0]

	// Accounts, made by the operator before the consoles start.
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("countersign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The first command creates the secret key file; every instance and
	// command is then given the same one.
	keyFile := filepath.Join(dir, "countersign.key")
	run(instancePassword+"\n", "users", "add", "-db", dbURL, "-secret-key-file", keyFile, "-email", "maker@example.com", "-name", "Mia Maker", "-role", "maker")
	approvers := []string{"a1@example.com", "a2@example.com", "a3@example.com", "a4@example.com", "a5@example.com"}
	for i, email := range approvers {
		run(instancePassword+"\n", "users", "add", "-db", dbURL, "-secret-key-file", keyFile, "-email", email, "-name", fmt.Sprintf("Approver %d", i+1), "-role", "approver")
	}

	start := func(name string) *instance {
		in := &instance{name: name}
		in.proc = startProc(t, []string{"COUNTERSIGN_DB=" + dbURL, "COUNTERSIGN_SECRET_KEY_FILE=" + keyFile,
			"COUNTERSIGN_AUDIT_CHECKPOINT_FILE=" + filepath.Join(dir, name+".checkpoint")}, "-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0",
			"-provider-url", sbURL, "-project", "instances",
			"-private-key", filepath.Join(keys, sandbox.PartnerPrivateKeyFile), "-public-key", filepath.Join(keys, sandbox.SandboxPublicKeyFile),
			"-provider-timeout", "4s", "-reconcile-interval", "1s", "-stuck-after", "20s", "-balance-interval", "5s")
		in.url = in.proc.line(t, "Countersign is listening on ")
		in.metrics = in.proc.line(t, "Metrics at ")
		return in
	}
	a, b := start("a"), start("b")
	split.mu.Lock()
	split.targets = []*instance{a, b}
	split.mu.Unlock()
	var leader, follower *instance
	waitUntil(t, "one instance to lead", 60*time.Second, func() bool {
		switch la, lb := a.leads(), b.leads(); {
		case la && lb:
			t.Fatal("both instances lead")
		case la:
			leader, follower = a, b
		case lb:
			leader, follower = b, a
		}
		return leader != nil
	})

	// Only the leader reads the balance; both instances are ready on it.
	waitUntil(t, "both instances to be ready", 60*time.Second, func() bool {
		for _, in := range []*instance{a, b} {
			resp, err := http.Get(in.url + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	})

	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitPayout := func(id int64, states ...string) *store.Payout {
		t.Helper()
		var p *store.Payout
		waitUntil(t, fmt.Sprintf("payout %d to be %v", id, states), 120*time.Second, func() bool {
			var err error
			p, err = db.PayoutByID(ctx, id)
			return err == nil && slices.Contains(states, p.State)
		})
		return p
	}

	// The maker prepares the payouts on one instance; the sessions are
	// shared, so the same cookie works on the other.
	maker := signInAt(t, a.url, "maker@example.com", instancePassword)
	var ids []int64
	for i := range 11 {
		maker.base = []*instance{a, b}[i%2].url
		status, loc := maker.post("/payouts", url.Values{"full_name": {"Jo Doe"}, "amount": {fmt.Sprintf("%d.00", 10+i)},
			"currency": {"USD"}, "card_number": {"4242 4242 4242 4242"}})
		id, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/payouts/"), 10, 64)
		if status != http.StatusSeeOther || id == 0 {
			t.Fatalf("prepare payout %d: %d %q", i, status, loc)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitPayout(id, "pending_approval")
	}
	people := map[string]*person{}
	for _, email := range approvers {
		people[email] = signInAt(t, []*instance{a, b}[len(people)%2].url, email, instancePassword)
		enrolOverHTTP(t, people[email])
	}
	approve := func(in *instance, email string, id int64) int {
		p, err := db.PayoutByID(ctx, id)
		if err != nil {
			t.Error(err)
			return 0
		}
		return approveAt(people[email], in.url, id, p.Version)
	}

	// The first payout is approved through the leader alone, until the
	// sandbox has paid it: its confirm's reply is still a second away when
	// the leader is killed. That payout is certainly left in doubt.
	doubt, racing := ids[0], ids[1:]
	doubtSession := waitPayout(doubt, "pending_approval").ProviderSessionID
	var doubtWG sync.WaitGroup
	doubtWG.Go(func() {
		for _, email := range approvers {
			if st := approve(leader, email, doubt); st == 0 || stateOf(t, db, doubt) != "pending_approval" {
				return
			}
		}
	})
	// The others: every approver approves every payout at once, half through
	// each instance, 50 requests racing.
	statuses := make(chan int, len(racing)*len(approvers))
	var race sync.WaitGroup
	for j, id := range racing {
		for i, email := range approvers {
			in := []*instance{a, b}[(i+j)%2]
			race.Go(func() { statuses <- approve(in, email, id) })
		}
	}
	waitUntil(t, "the sandbox to pay the first payout", 60*time.Second, func() bool {
		return executedConfirms(t, sbURL)[doubtSession] > 0
	})
	killed := time.Now()
	if err := leader.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	leader.dead.Store(true)
	race.Wait()
	doubtWG.Wait()
	close(statuses)
	counts := map[int]int{}
	for st := range statuses {
		counts[st]++
	}
	t.Logf("approval answers (0: the instance died under it): %v", counts)

	waitUntil(t, "the other instance to take the lead", 60*time.Second, follower.leads)
	takeover := time.Since(killed)
	t.Logf("the other instance led %v after the kill", takeover.Round(100*time.Millisecond))
	if takeover > 30*time.Second {
		t.Errorf("takeover took %v; want under 30 s", takeover)
	}

	// Payouts still waiting (their approvals went to the dead instance) are
	// approved again through the survivor, as people would.
	for _, id := range ids {
		for _, email := range approvers {
			if stateOf(t, db, id) != "pending_approval" {
				break
			}
			approve(follower, email, id)
		}
	}
	client := partnerClient(t, sbURL, keys)
	for _, id := range ids {
		p := waitPayout(id, "succeeded", "failed", "cancelled", "expired", "rejected")
		sess, err := client.Status(ctx, p.ProviderSessionID)
		if err != nil {
			t.Fatal(err)
		}
		if p.State != "succeeded" || sess.Payout() == nil || sess.Payout().Status != smartglocal.PaymentSucceeded {
			t.Errorf("payout %d: ours %s, the provider's %+v; want both succeeded", id, p.State, sess.Payout())
		}
		if n := executedConfirms(t, sbURL)[p.ProviderSessionID]; n != 1 {
			t.Errorf("payout %d: %d session/confirm executed at the provider; want exactly 1", id, n)
		}
	}
	if open, err := db.OpenProviderCalls(ctx, time.Now().Add(time.Hour)); err != nil || len(open) != 0 {
		t.Errorf("provider calls left open: %+v, %v", open, err)
	}
	// The survivor closed the dead instance's confirm of the payout in doubt.
	closedBySystem := false
	for _, e := range mustAudit(t, db, store.AuditFilter{ObjectType: "payout", ObjectID: strconv.FormatInt(doubt, 10), Action: "provider.session/confirm"}) {
		closedBySystem = closedBySystem || (e.Actor == "system" && e.Outcome == store.CallUnknown)
	}
	if !closedBySystem {
		t.Errorf("the confirm in doubt of payout %d was not closed by the surviving instance's reconciler", doubt)
	}
	split.mu.Lock()
	t.Logf("webhooks delivered: %v", split.delivered)
	if split.delivered["a"] == 0 || split.delivered["b"] == 0 {
		t.Errorf("webhooks delivered %v; want some to each instance", split.delivered)
	}
	split.mu.Unlock()
	// Checked against the survivor's checkpoint: it led last.
	if out := run("", "audit", "verify", "-db", dbURL, "-secret-key-file", keyFile, "-audit-checkpoint-file", filepath.Join(dir, follower.name+".checkpoint")); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
}

func stateOf(t *testing.T, db *store.DB, id int64) string {
	p, err := db.PayoutByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.State
}

func mustAudit(t *testing.T, db *store.DB, f store.AuditFilter) []store.AuditEntry {
	es, err := db.AuditEntries(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// executedConfirms counts, per session, the session/confirm requests the
// sandbox executed (replays and faulted requests excluded).
func executedConfirms(t *testing.T, sbURL string) map[string]int {
	t.Helper()
	resp, err := http.Get(sbURL + "/sandbox/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var log struct{ Calls []sandbox.Call }
	if err := json.NewDecoder(resp.Body).Decode(&log); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, c := range log.Calls {
		if c.Method == "session/confirm" && !c.Replayed && c.Status == http.StatusOK && c.Fault == sandbox.FaultNone {
			out[c.SessionID]++
		}
	}
	return out
}

// partnerClient is the provider's client as the consoles use it, to ask the
// sandbox what it holds.
func partnerClient(t *testing.T, sbURL, keys string) *smartglocal.Client {
	t.Helper()
	key, err := smartglocal.LoadPrivateKey(filepath.Join(keys, sandbox.PartnerPrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return smartglocal.New(smartglocal.Config{BaseURL: sbURL, Project: "instances", PrivateKey: key})
}

// waitUntil polls cond until it holds, within a generous deadline.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
