package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// machine is where the figures were measured.
type machine struct {
	Command   string
	CPU       string
	Cores     int
	MemoryGB  float64
	Go        string
	Started   time.Time
	LoadStart string // load averages (1, 5, 15 minutes) when the run began
	LoadAfter string // and when it ended
}

func readMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Started: time.Now(), LoadStart: loadAverage()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				m.MemoryGB = kb / (1 << 20)
			}
		}
		f.Close()
	}
	return m
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// span formats the values of one figure over the repetitions: one number, or
// the lowest and highest.
func span(vals []float64, format func(float64) string) string {
	if len(vals) == 0 {
		return "—"
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	a, b := format(lo), format(hi)
	if a == b {
		return a
	}
	return a + "–" + b
}

func ms(v float64) string {
	switch {
	case v < 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

func whole(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sizeName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// row is one line of the table: a figure at each size, its target and the
// ceiling it is compared with.
type row struct {
	figure  string
	cells   []string
	target  string
	ceiling string
	ratio   string
}

// latencies is "p50 / p95 / p99" over the samples, with requests a second.
func latencies(ss []sample, withRate bool) string {
	var p50, p95, p99, rate []float64
	for _, s := range ss {
		if s.n() == 0 {
			continue
		}
		p50, p95, p99 = append(p50, msOf(s.q(0.5))), append(p95, msOf(s.q(0.95))), append(p99, msOf(s.q(0.99)))
		rate = append(rate, s.rate())
	}
	out := span(p50, ms) + " / " + span(p95, ms) + " / " + span(p99, ms)
	if withRate {
		out += " · " + span(rate, whole) + "/s"
	}
	if f := failures(ss); f != "" {
		out += " " + f
	}
	return out
}

func failures(ss []sample) string {
	n, first := 0, ""
	for _, s := range ss {
		n += s.failed
		if first == "" {
			first = s.first
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("(%d failed: %s)", n, first)
}

func worstP95(ss []sample) time.Duration {
	var w time.Duration
	for _, s := range ss {
		w = max(w, s.q(0.95))
	}
	return w
}

func mark(ok bool) string {
	if ok {
		return " ✓"
	}
	return " ✗"
}

// report writes the run as markdown: what ran where, then one table.
func report(w io.Writer, m machine, ns []int, sets map[int]*dataset, res map[int][]*runResult, ceils []ceilings) {
	fmt.Fprintf(w, "Command: `%s`  \n", m.Command)
	fmt.Fprintf(w, "Machine: %s, %d cores, %.0f GB; %s; %s  \n", m.CPU, m.Cores, m.MemoryGB, m.Go, m.Started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Load average (1, 5, 15 min) at the start %s, at the end %s; repetitions: %d  \n", m.LoadStart, m.LoadAfter, len(ceils))
	for _, n := range ns {
		d := sets[n]
		fmt.Fprintf(w, "Dataset %s: %s payouts, %s webhooks, %s provider calls, %s balance readings, %s recipients; %.0f MB, generated in %s  \n",
			sizeName(n), whole(float64(d.Payouts)), whole(float64(d.Counts.Webhooks)), whole(float64(d.Counts.ProviderCalls)),
			whole(float64(d.Counts.Readings*4)), whole(float64(recipientsFor(n))), float64(d.Bytes)/1e6, d.Took.Round(time.Second))
	}
	fmt.Fprintln(w)

	largest := ns[len(ns)-1]
	var hello []sample
	var single, grouped, verify []float64
	for _, c := range ceils {
		hello, single, grouped, verify = append(hello, c.Hello), append(single, c.CommitSingle), append(grouped, c.CommitGrouped), append(verify, c.Verify)
	}
	helloP95 := msOf(worstP95(hello))

	var rows []row
	cells := func(f func(rs []*runResult) string) []string {
		var out []string
		for _, n := range ns {
			out = append(out, f(res[n]))
		}
		return out
	}
	pageNames := []string{}
	for _, p := range res[largest][0].Pages {
		pageNames = append(pageNames, p.Name)
	}
	pagesOf := func(rs []*runResult, name string, busy bool) []sample {
		var out []sample
		for _, r := range rs {
			for _, p := range r.Pages {
				if p.Name == name {
					if busy {
						out = append(out, p.Busy)
					} else {
						out = append(out, p.Quiet)
					}
				}
			}
		}
		return out
	}
	helloCell := latencies(hello, true)
	for _, name := range pageNames {
		target := "p95 < 20 ms"
		if strings.HasPrefix(name, "CSV") {
			target = "—"
		} else {
			target += mark(worstP95(pagesOf(res[largest], name, false)) < 20*time.Millisecond)
		}
		worst := msOf(worstP95(pagesOf(res[largest], name, false)))
		rows = append(rows, row{figure: name, cells: cells(func(rs []*runResult) string { return latencies(pagesOf(rs, name, false), true) }),
			target: target, ceiling: "hello: " + helloCell, ratio: fmt.Sprintf("p95 ×%.0f", worst/helloP95)})
	}
	for _, name := range pageNames {
		busy := pagesOf(res[largest], name, true)
		if len(busy) == 0 || busy[0].n() == 0 {
			continue
		}
		target := "p95 < 20 ms"
		if strings.HasPrefix(name, "CSV") {
			target = "—"
		} else {
			target += mark(worstP95(busy) < 20*time.Millisecond)
		}
		rows = append(rows, row{figure: name + ", webhooks arriving", cells: cells(func(rs []*runResult) string { return latencies(pagesOf(rs, name, true), false) }),
			target: target, ceiling: "—", ratio: fmt.Sprintf("p95 ×%.0f", msOf(worstP95(busy))/helloP95)})
	}
	for i := range res[largest][0].Ingest {
		ingestOf := func(rs []*runResult) []ingestResult {
			var out []ingestResult
			for _, r := range rs {
				if i < len(r.Ingest) {
					out = append(out, r.Ingest[i])
				}
			}
			return out
		}
		cell := func(rs []*runResult) string {
			var rate, p50, p99, maxl []float64
			fives, other, wrong := 0, 0, 0
			for _, in := range ingestOf(rs) {
				rate, p50, p99, maxl = append(rate, float64(in.Distinct)/in.Lat.elapsed.Seconds()), append(p50, msOf(in.Lat.q(0.5))), append(p99, msOf(in.Lat.q(0.99))), append(maxl, msOf(in.Lat.q(1)))
				fives, other = fives+in.Status5xx, other+in.Other
				if in.Stored != int64(in.Distinct) {
					wrong++
				}
			}
			s := span(rate, whole) + "/s; p50 " + span(p50, ms) + ", p99 " + span(p99, ms) + ", max " + span(maxl, ms) + " ms"
			if fives+other > 0 {
				s += fmt.Sprintf("; %d 5xx, %d other", fives, other)
			}
			if wrong == 0 {
				s += "; stored = sent"
			} else {
				s += fmt.Sprintf("; stored ≠ sent in %d runs", wrong)
			}
			return s + "; " + cpuCell(ingestOf(rs))
		}
		big := ingestOf(res[largest])
		target, ratio := "no 5xx, stored = sent", ""
		var lowest float64 = -1
		ok := true
		for _, in := range big {
			r := float64(in.Distinct) / in.Lat.elapsed.Seconds()
			if lowest < 0 || r < lowest {
				lowest = r
			}
			ok = ok && in.Status5xx == 0 && in.Stored == int64(in.Distinct)
			if in.Clients >= 64 {
				ok = ok && r >= 10_000 && in.Lat.q(0.99) < 50*time.Millisecond
			}
		}
		if big[0].Clients >= 64 {
			target = "≥ 10,000/s, p99 < 50 ms, " + target
		}
		ratio = fmt.Sprintf("%.0f%% of grouped, %.0f%% of single commits", 100*lowest/slices.Min(grouped), 100*lowest/slices.Min(single))
		rows = append(rows, row{figure: fmt.Sprintf("webhook ingest, %d clients (%s distinct + 5%% sent twice)", big[0].Clients, whole(float64(big[0].Distinct))),
			cells: cells(cell), target: target + mark(ok),
			ceiling: "commits: " + span(single, whole) + "/s single, " + span(grouped, whole) + " rows/s grouped; RSA verify " + span(verify, whole) + "/s", ratio: ratio})
	}
	if refused := res[largest][0].Refused; refused.Sent > 0 {
		rows = append(rows, row{figure: fmt.Sprintf("webhooks refused for a wrong signature, %d clients (the cheapest answer to a webhook)", refused.Clients),
			cells: cells(func(rs []*runResult) string {
				var rate, p99 []float64
				var bursts []ingestResult
				stored, other := int64(0), 0
				for _, r := range rs {
					in := r.Refused
					rate, p99 = append(rate, float64(in.Sent)/in.Lat.elapsed.Seconds()), append(p99, msOf(in.Lat.q(0.99)))
					bursts = append(bursts, in)
					stored, other = stored+in.Stored, other+in.Status5xx+in.Other
				}
				s := span(rate, whole) + "/s; p99 " + span(p99, ms) + " ms; " + cpuCell(bursts)
				if stored != 0 || other != 0 {
					s += fmt.Sprintf("; %d stored, %d not 401", stored, other)
				} else {
					s += "; none stored, all 401"
				}
				return s
			}), target: "—", ceiling: "—", ratio: "—"})
	}
	// A run of the ingest alone (-only webhooks) measured none of these.
	if len(res[largest][0].Pages) > 0 {
		rows = append(rows, row{figure: "pages' webhook stream (sent / failed / not sent in time)", cells: cells(func(rs []*runResult) string {
			var s, b, l int64
			for _, r := range rs {
				s, b, l = s+r.Stream.Sent, b+r.Stream.Bad, l+r.Stream.Late
			}
			return fmt.Sprintf("%s / %d / %d", whole(float64(s)), b, l)
		}), target: fmt.Sprintf("%g/s asked, none failed", res[largest][0].Stream.Rate), ceiling: "—", ratio: "—"})
		rows = append(rows, row{figure: "approval round trip (ms, with the provider's confirm)", cells: cells(func(rs []*runResult) string {
			var ss []sample
			for _, r := range rs {
				ss = append(ss, r.Approve)
			}
			return latencies(ss, false)
		}), target: "kept (baseline p95 11–19 ms)", ceiling: "—", ratio: "—"})
		exportRate := func(rs []*runResult) []float64 {
			var out []float64
			for _, r := range rs {
				out = append(out, float64(r.ExportRows)/r.ExportTook.Seconds())
			}
			return out
		}
		rows = append(rows, row{figure: "CSV export of one currency (rows/s)", cells: cells(func(rs []*runResult) string {
			return span(exportRate(rs), whole) + " (" + whole(float64(rs[0].ExportRows)) + " rows)"
		}), target: "≥ 100,000" + mark(slices.Min(exportRate(res[largest])) >= 100_000), ceiling: "—", ratio: "—"})
	}
	mb := func(f func(r *runResult) int64) func(rs []*runResult) []float64 {
		return func(rs []*runResult) []float64 {
			var out []float64
			for _, r := range rs {
				out = append(out, float64(f(r))/(1<<20))
			}
			return out
		}
	}
	idle, peak := mb(func(r *runResult) int64 { return r.RSSIdle }), mb(func(r *runResult) int64 { return r.RSSPeak })
	rows = append(rows, row{figure: "RSS idle / peak (MB)", cells: cells(func(rs []*runResult) string {
		return span(idle(rs), whole) + " / " + span(peak(rs), whole)
	}), target: "< 100 MB" + mark(slices.Max(peak(res[largest])) < 100), ceiling: "—", ratio: "—"})
	rows = append(rows, row{figure: "start to serving (ms)", cells: cells(func(rs []*runResult) string {
		var v []float64
		for _, r := range rs {
			v = append(v, msOf(r.Serving))
		}
		return span(v, ms)
	}), target: "kept (baseline 11–22 ms)", ceiling: "—", ratio: "—"})
	rows = append(rows, row{figure: "database bytes per payout (pages in use, after the migrations)", cells: cells(func(rs []*runResult) string {
		return whole(float64(rs[0].DBBytes) / float64(rs[0].Payouts))
	}), target: "half the baseline's", ceiling: "—", ratio: "—"})

	fmt.Fprint(w, "| figure |")
	for _, n := range ns {
		fmt.Fprintf(w, " %s |", sizeName(n))
	}
	fmt.Fprintf(w, " target (at %s) | ceiling (same run) | ratio at %s |\n|---|", sizeName(largest), sizeName(largest))
	for range ns {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w, "---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.figure, strings.Join(r.cells, " | "), r.target, r.ceiling, r.ratio)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Pages: p50 / p95 / p99 in ms and requests a second, one client, each page for the set time after a warm start; \"webhooks arriving\" is the same with the steady stream of signed webhooks; ratios compare p95 with the bare Echo page's.")
}

// cpuCell is what bursts cost in CPU, a delivery sent, and what the machine
// left idle: "CPU a delivery: console 385 µs, clients 62 µs; machine idle 19 %".
func cpuCell(bursts []ingestResult) string {
	var console, clients, idle []float64
	for _, in := range bursts {
		console, clients = append(console, perEvent(in.CPU.Console, in.Sent)), append(clients, perEvent(in.CPU.Clients, in.Sent))
		idle = append(idle, 100*float64(in.CPU.Idle)/float64(in.CPU.Busy+in.CPU.Idle))
	}
	return "CPU a delivery: console " + span(console, whole) + " µs, clients " + span(clients, whole) + " µs; machine idle " + span(idle, whole) + " %"
}
