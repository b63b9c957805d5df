package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"countersign/metrics"
)

// tool finds a program the deploy checks need: skipped without it on a
// developer machine, a failure in CI (which installs it).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run installs Debian's %s", name, pkg)
	}
	t.Skipf("%s is not installed: skipping (apt-get install %s)", name, pkg)
	return ""
}

// metricNames are every series name the console can expose: all families
// of a Metrics with each gauge and counter set once.
func metricNames(t *testing.T) map[string]bool {
	t.Helper()
	now := time.Now()
	full := metrics.New(func(context.Context) (metrics.State, error) {
		return metrics.State{PayoutsByState: map[string]int64{"unknown": 1}, QueueLength: 1, QueueOldest: now, NextDeadline: now.Add(time.Hour),
			Balances:    []metrics.Balance{{Currency: "USD", Balance: 1, Available: 1, LowMark: 1, HasLow: true, ReadAt: now}},
			OutboxDepth: 1}, nil
	}, time.Now)
	full.Request("/", "GET", 200, time.Millisecond)
	full.ProviderCall("session/status", "ok", time.Millisecond)
	full.Webhook("ready_to_confirm", "applied")
	full.ReconcilePass(nil)
	full.Leading(true)
	rec := httptest.NewRecorder()
	full.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for name, f := range families {
		names[name] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[name+suffix] = true
			}
		}
	}
	return names
}

var metricRef = regexp.MustCompile(`countersign_[a-z_]+`)

// checkNames fails for every countersign_ name in expr the console does not expose.
func checkNames(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	for _, name := range metricRef.FindAllString(expr, -1) {
		if !known[name] {
			t.Errorf("%s: %s is not a metric the console exposes", where, name)
		}
	}
}

func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("deploy/grafana/countersign.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	known := metricNames(t)
	exprs := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs++
			checkNames(t, "panel "+p.Title, tg.Expr, known)
		}
	}
	if dash.Title == "" || len(dash.Panels) < 10 || exprs < 10 {
		t.Errorf("dashboard %q: %d panels, %d queries", dash.Title, len(dash.Panels), exprs)
	}
}

func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.UnmarshalStrict(b, &rules); err != nil {
		t.Fatalf("alert rules YAML: %v", err)
	}
	known := metricNames(t)
	var names []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
			checkNames(t, r.Alert, r.Expr, known)
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("%s: no summary or severity", r.Alert)
			}
		}
	}
	for _, want := range []string{"CountersignPayoutsInUnknown", "CountersignQueueNearDeadline", "CountersignBalanceLow", "CountersignWebhookSignatureFailures"} {
		if !slices.Contains(names, want) {
			t.Errorf("no alert %s", want)
		}
	}
	cfg, err := os.ReadFile("deploy/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(cfg, &prom); err != nil || len(prom.ScrapeConfigs) == 0 || !slices.Contains(prom.RuleFiles, "alerts.yml") {
		t.Errorf("prometheus.yml: %+v, %v", prom, err)
	}
}

// TestNginxConfig runs nginx -t over the example, with a throwaway
// certificate in place of the real one.
func TestNginxConfig(t *testing.T) {
	nginx := tool(t, "nginx", "nginx-light")
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	conf, err := os.ReadFile("deploy/nginx/countersign.conf")
	if err != nil {
		t.Fatal(err)
	}
	site := strings.NewReplacer("/etc/ssl/certs/payouts.example.com.pem", cert, "/etc/ssl/private/payouts.example.com.key", key).Replace(string(conf))
	write(t, filepath.Join(dir, "countersign.conf"), site)
	write(t, filepath.Join(dir, "nginx.conf"), "pid "+dir+"/nginx.pid;\nerror_log "+dir+"/error.log;\nevents {}\nhttp {\n\taccess_log "+dir+
		"/access.log;\n\tinclude "+dir+"/countersign.conf;\n}\n")
	if out, err := exec.Command(nginx, "-t", "-q", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput(); err != nil {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
}

// TestSystemdUnits runs systemd-analyze verify over the example units, with
// this test's own binary standing in for the console's.
func TestSystemdUnits(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	units, _ := filepath.Glob("deploy/systemd/*")
	var args []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.Base(u))
		write(t, path, strings.ReplaceAll(string(b), "/usr/local/bin/countersign", self))
		args = append(args, path)
	}
	if len(args) < 3 {
		t.Fatalf("units: %v", units)
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, args...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice")
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// selfSigned writes a throwaway certificate and key for nginx -t.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "payouts.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"payouts.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}
