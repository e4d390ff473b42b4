package scriptblock

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

func part(id string, n, total int, text string, t int64) Part {
	return Part{Host: "ws01", ID: id, Number: n, Total: total, Text: text, Time: t}
}

// engineSearch is the product's search: the rules on a part, and across a
// seam.
type engineSearch struct{ e *rules.Engine }

func newSearch(t testing.TB) engineSearch {
	e, err := rules.New(rules.Options{})
	require.NoError(t, err)
	return engineSearch{e}
}

func event(text string) *winevent.Event {
	return &winevent.Event{EventID: winevent.PowerShellScriptBlock, Channel: "Microsoft-Windows-PowerShell/Operational", ScriptBlockText: text}
}

func (s engineSearch) alone(text string) bool { return s.e.Evaluate(event(text)).Detected() }

// partAlone is the rules on part n of total alone, as the processor asks.
func (s engineSearch) partAlone(text string, n, total int) bool {
	ev := event(text)
	ev.MessageNumber, ev.MessageTotal = strconv.Itoa(n), strconv.Itoa(total)
	return s.e.Evaluate(ev).Detected()
}

func (s engineSearch) across(evidence *string) Across {
	return func(window string, seam int) (bool, Facts) {
		v := s.e.EvaluateAcross(event(""), window, seam)
		*evidence = v.Evidence
		return v.Detected(), Facts{}
	}
}

// detectedFact marks a block a part or seam of which is a detection, as
// the processor does.
const detectedFact = 1 << 7

// joined is the processor's use of the facts: the rules' facts of each
// part and seam, and a join when a block holds a dual-use token and a
// target, none of its parts or seams being a detection.
func (s engineSearch) partFacts(text string, n, total int, detected bool) Facts {
	token, targets := s.e.ScriptFacts(text, "", n > 1, n < total)
	f := Facts{Bits: targets, Tag: token}
	if detected {
		f.Bits |= detectedFact
	}
	return f
}

func (s engineSearch) acrossWithFacts(evidence *string) Across {
	return func(window string, seam int) (bool, Facts) {
		found := false
		if *evidence == "" {
			v := s.e.EvaluateAcross(event(""), window, seam)
			*evidence, found = v.Evidence, v.Detected()
		}
		token, targets := s.e.ScriptFacts(window, "", true, true)
		f := Facts{Bits: targets, Tag: token}
		if found {
			f.Bits |= detectedFact
		}
		return found, f
	}
}

func joinsLateral(f Facts) bool {
	return f.Tag != 0 && f.Bits&(rules.TargetRemote|rules.TargetLoopback) != 0 && f.Bits&detectedFact == 0
}

func TestTokenSplitAcrossPartsIsFoundOnTheCompletingPart(t *testing.T) {
	s := newSearch(t)
	filler := strings.Repeat("Write-Output 'x'\n", 100)
	for _, tc := range []struct {
		name, left, right, evidence string
	}{
		{"plain token", filler + "Invoke-DC", "OM -ComputerName srv01\n" + filler, "Invoke-DCOM (across script block parts)"},
		{"host argument after the seam", filler + `[type]::GetTypeFromProgID("Excel.Application"`, `, "fs01")` + filler, "GetTypeFromProgID with a remote host (across script block parts)"},
		{"the call's name split", filler + "[type]::GetTypeFrom", `ProgID("Excel.Application","fs01")` + filler, "GetTypeFromProgID with a remote host (across script block parts)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.False(t, s.alone(tc.left))
			require.False(t, s.alone(tc.right))
			for _, order := range [][2]int{{1, 2}, {2, 1}} {
				a := New(rules.EdgeBytes)
				texts := map[int]string{1: tc.left, 2: tc.right}
				var evidence string
				assert.False(t, a.Add(part("b", order[0], 2, texts[order[0]], 1), s.across(&evidence), nil).Found, "first part %d", order[0])
				assert.True(t, a.Add(part("b", order[1], 2, texts[order[1]], 2), s.across(&evidence), nil).Found, "second part %d", order[1])
				assert.Equal(t, tc.evidence, evidence)
				assert.Equal(t, Stats{Completed: 1, SeamsChecked: 1, Found: 1}, a.Stats(), "a complete block leaves")
			}
		})
	}
	// Tokens wholly within a part are the part's own: not reported again
	// at a seam.
	a := New(rules.EdgeBytes)
	var evidence string
	assert.False(t, a.Add(part("c", 1, 2, filler+"Invoke-DCOM -ComputerName x", 1), s.across(&evidence), nil).Found)
	assert.False(t, a.Add(part("c", 2, 2, "\n"+filler, 2), s.across(&evidence), nil).Found)
	assert.False(t, a.Add(part("d", 1, 2, filler+`GetTypeFromProgID("MMC20.Application", "fs01")`, 1), s.across(&evidence), nil).Found)
	assert.False(t, a.Add(part("d", 2, 2, ")"+filler, 2), s.across(&evidence), nil).Found)
}

// TestReassemblyAgreesWithTheWholeText is the differential test: scripts
// of random benign lines and attack lines, cut into parts at random and
// delivered in random order, are found (in a part alone or across a seam)
// exactly when the rules find the whole script.
func TestReassemblyAgreesWithTheWholeText(t *testing.T) {
	s := newSearch(t)
	lines := []string{
		"Write-Output 'hello'\n", "$x = Get-ChildItem C:\\Windows -Recurse | Select-Object -First 10\n",
		"foreach ($i in 1..10) { $sum += $i }\n", "# comment (with, commas)\n",
		`$o = [type]::GetTypeFromProgID("Excel.Application")` + "\n", "Invoke-Command -ScriptBlock { dir }\n",
	}
	attacks := []string{
		"Invoke-DCOM -ComputerName srv01 -Method MMC20.Application\n",
		`$c = [activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application.1", "fs01"))` + "\n",
		`[type]::GetTypeFromCLSID("9BA05972-F6A8-11CF-A442-00A0C90A8F39", $target)` + "\n",
		"$o.Document.ActiveView.ExecuteShellCommand('cmd',$null,'/c calc','7')\n",
		`$xl = [activator]::CreateInstance([type]::GetTypeFromProgID("Excel.Application", "fs01"))` + "\n",
		"$xl.RegisterXLL($path) # -ComputerName fs03\n",
	}
	// Lines that are benign alone and lateral movement together in one
	// script: a dual-use token used locally, a target named elsewhere.
	halves := []string{
		"$xl.RegisterXLL('C:\\Users\\Public\\a.xll')\n", "$m.Document.ActiveView.ExecuteShellCommand('cmd', $null, '/c x', '7')\n",
		"Get-Service -ComputerName fs02 | Out-Null\n", "Test-Connection -ComputerName localhost -Count 1\n",
		"Get-Service -ComputerName $null\n", "Get-Service -ComputerName ''\n",
	}
	rng := rand.New(rand.NewSource(28))
	found, total, joined := 0, 0, 0
	for round := 0; round < 600; round++ {
		// A third of the scripts hold one attack line, anywhere; a third
		// hold two halves, each anywhere.
		var b strings.Builder
		size := 4000 + rng.Intn(20000)
		var insert []int
		var inserts []string
		switch rng.Intn(3) {
		case 0:
			insert, inserts = []int{rng.Intn(size)}, []string{attacks[rng.Intn(len(attacks))]}
		case 1:
			insert = []int{rng.Intn(size), rng.Intn(size)}
			inserts = []string{halves[rng.Intn(2)], halves[2+rng.Intn(len(halves)-2)]}
		}
		for b.Len() < size {
			for k := range insert {
				if insert[k] >= 0 && b.Len() >= insert[k] {
					b.WriteString(inserts[k])
					insert[k] = -1
				}
			}
			b.WriteString(lines[rng.Intn(len(lines))])
		}
		text := b.String()
		want := s.alone(text)
		// Cuts at least EdgeBytes apart (Windows cuts every ~16 K
		// characters; only the last part is short).
		var cuts []int
		for c := rng.Intn(3000) + rules.EdgeBytes; c < len(text); c += rules.EdgeBytes + rng.Intn(3000) {
			cuts = append(cuts, c)
		}
		parts := make([]string, 0, len(cuts)+1)
		prev := 0
		for _, c := range cuts {
			parts = append(parts, text[prev:c])
			prev = c
		}
		parts = append(parts, text[prev:])
		if len(parts) < 2 {
			continue
		}
		order := rng.Perm(len(parts))
		a := New(rules.EdgeBytes)
		got, gotJoined := 0, false
		var evidence string
		for i, n := range order {
			alone := s.partAlone(parts[n], n+1, len(parts))
			p := part(strconv.Itoa(round), n+1, len(parts), parts[n], int64(i+1))
			p.Facts = s.partFacts(parts[n], n+1, len(parts), alone)
			added := a.Add(p, s.acrossWithFacts(&evidence), joinsLateral)
			if alone || added.Found || added.Joined {
				got++
			}
			if added.Joined {
				gotJoined = true
				token, targets := added.Facts.Tag, added.Facts.Bits
				v := s.e.EvaluateJoined(event(""), token, targets)
				require.True(t, v.Detected(), "round %d", round)
				assert.Contains(t, v.Evidence, "(across script block parts)")
			}
		}
		require.Equal(t, want, got > 0, "round %d: %d parts in order %v", round, len(parts), order)
		if gotJoined {
			joined++
			assert.Equal(t, 1, got, "round %d: a join is the block's only detection", round)
		}
		st := a.Stats()
		assert.Equal(t, int64(1), st.Completed)
		assert.Zero(t, st.Bytes, "nothing is kept of a complete block")
		total++
		if want {
			found++
		}
	}
	t.Logf("%d scripts, %d with an attack, %d of them found by joining parts", total, found, joined)
	require.Greater(t, found, 150)
	require.Greater(t, total-found, 100)
	require.Greater(t, joined, 30)
}

// TestStateIsBounded: thousands of parts of one block, parts that never
// complete, megabyte parts, numbers out of range: the state stays within
// its bounds, in bytes and in event time.
func TestStateIsBounded(t *testing.T) {
	never := func(string, int) (bool, Facts) { return false, Facts{} }

	// In order, a block of thousands of parts keeps one part's ends.
	a := New(rules.EdgeBytes)
	big := strings.Repeat("x", 1<<20)
	for n := 1; n < 5000; n++ {
		a.Add(part("long", n, 5000, big[:20000], int64(n)), never, nil)
		require.LessOrEqual(t, a.Stats().Bytes, blockOverhead+10+5000*partOverhead+2*rules.EdgeBytes)
	}
	a.Add(part("long", 5000, 5000, big, 5000), never, nil)
	assert.Equal(t, Stats{Completed: 1, SeamsChecked: 4999}, a.Stats())

	// Megabyte parts in reverse order: only their ends are kept.
	a = New(rules.EdgeBytes)
	for n := 100; n > 1; n-- {
		a.Add(part("rev", n, 100, big, 1), never, nil)
	}
	assert.LessOrEqual(t, a.Stats().Bytes, blockOverhead+10+100*partOverhead+2*rules.EdgeBytes)

	// Blocks that never complete: at most MaxBlocks and MaxBytes.
	a = New(rules.EdgeBytes)
	for i := 0; i < 3*MaxBlocks; i++ {
		a.Add(part(strconv.Itoa(i), 1, 3, big[:50000], 1), never, nil)
		st := a.Stats()
		require.LessOrEqual(t, st.Blocks, MaxBlocks)
		require.LessOrEqual(t, st.Bytes, MaxBytes)
	}
	assert.Equal(t, int64(2*MaxBlocks), a.Stats().Evicted)

	// Out of every bound: not taken.
	for _, p := range []Part{
		part("x", 0, 2, "a", 1), part("x", 3, 2, "a", 1), part("x", 1, MaxParts+1, "a", 1), part("x", -1, 2, "a", 1),
	} {
		assert.False(t, a.Add(p, never, nil).Found)
	}
	assert.False(t, a.Add(part("single", 1, 1, "Invoke-DCOM", 1), never, nil).Found, "single-part blocks are the part's own")

	// A part seen twice is taken once.
	b := New(rules.EdgeBytes)
	calls := 0
	count := func(string, int) (bool, Facts) { calls++; return false, Facts{} }
	b.Add(part("dup", 1, 3, "a", 1), count, nil)
	b.Add(part("dup", 2, 3, "b", 1), count, nil)
	b.Add(part("dup", 2, 3, "b", 1), count, nil)
	assert.Equal(t, 1, calls)
	assert.Equal(t, int64(1), b.Stats().Ignored)

	// Blocks leave Hold after their latest part, in event time.
	c := New(rules.EdgeBytes)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixNano()
	c.Add(part("old", 1, 2, "a", t0), never, nil)
	c.Add(part("new", 1, 2, "a", t0+int64(Hold)), never, nil)
	assert.Equal(t, 2, c.Stats().Blocks, "held for Hold")
	c.Add(part("newer", 1, 2, "a", t0+int64(Hold)+1), never, nil)
	st := c.Stats()
	assert.Equal(t, 2, st.Blocks)
	assert.Equal(t, int64(1), st.Evicted)
	var evidence string
	assert.False(t, c.Add(part("old", 2, 2, "Invoke-DCOM", t0+int64(Hold)+2), newSearch(t).across(&evidence), nil).Found,
		"the old block's first part is gone: its second starts a new block")
}

// FuzzAssembler: any sequence of parts, with any numbers, texts and
// times, neither panics nor leaves the bounds.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte{1, 2, 'a', 2, 2, 'b'})
	f.Add([]byte{0, 0, 0, 255, 255, 255})
	f.Add([]byte("\x01\x03Invoke-DC\x02\x03OM -ComputerName x\x03\x03"))
	s := newSearch(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a := New(8)
		var evidence string
		for i := 0; i+2 < len(data); i += 3 {
			n, total := int(data[i])%6-1, int(data[i+1])%6
			textLen := int(data[i+2]) % 20
			text := string(data[i:min(len(data), i+textLen)])
			a.Add(Part{Host: "h", ID: strconv.Itoa(int(data[i+2] % 3)), Number: n, Total: total, Text: text, Time: int64(i) * int64(time.Minute)}, s.across(&evidence), nil)
			st := a.Stats()
			require.LessOrEqual(t, st.Blocks, MaxBlocks)
			require.GreaterOrEqual(t, st.Bytes, 0)
			require.LessOrEqual(t, st.Bytes, MaxBytes)
		}
	})
}

// TestPartsAllocateNothingWhenSteady: blocks that come and go reuse the
// buffers and blocks of those that left.
func TestPartsAllocateNothingWhenSteady(t *testing.T) {
	a := New(rules.EdgeBytes)
	text := strings.Repeat("Write-Output 'x'\n", 2000)
	never := func(string, int) (bool, Facts) { return false, Facts{} }
	ids := []string{"7b92882b-e7a4-47df-94a9-5f71dd95e459", "79679dd8-9485-473f-bd2e-c321de81167c"}
	feed := func() {
		for _, id := range ids {
			for _, n := range []int{2, 4, 1, 3} {
				a.Add(part(id, n, 4, text, 1), never, nil)
			}
		}
	}
	feed()
	assert.Zero(t, testing.AllocsPerRun(100, feed))
	assert.Equal(t, int64(2*102), a.Stats().Completed, "a warm-up run and 100 counted runs after the first feed")
}

// TestAddConcurrent: the two parts of each block from two goroutines, two
// such pairs at once (the race pass runs it): every block completes once
// and every split token is found once.
func TestAddConcurrent(t *testing.T) {
	a := New(rules.EdgeBytes)
	s := newSearch(t)
	filler := strings.Repeat("Write-Output 'x'\n", 100)
	var wg sync.WaitGroup
	var found atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				// goroutine g sends part g%2+1 of block i of pair g/2
				n := g%2 + 1
				texts := [2]string{filler + "Invoke-DC", "OM -ComputerName x\n" + filler}
				var evidence string
				if a.Add(part(fmt.Sprint(g/2, "-", i), n, 2, texts[n-1], 1), s.across(&evidence), nil).Found {
					found.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	st := a.Stats()
	assert.Equal(t, int64(400), st.Completed)
	assert.Equal(t, int64(400), found.Load())
	assert.Zero(t, st.Bytes)
}

// TestJoinAcrossParts: a dual-use token in one part and a target named in
// another are lateral movement together, found on the part that completes
// them, in any order; a parameter or value that a cut makes look like
// another is read from the seam instead.
func TestJoinAcrossParts(t *testing.T) {
	s := newSearch(t)
	filler := strings.Repeat("Write-Output 'x'\n", 100)
	for _, tc := range []struct {
		name  string
		texts []string
		want  bool
	}{
		{"token then target", []string{filler + "$xl.RegisterXLL('a.xll')\n" + filler, filler + "Get-Service -ComputerName fs02\n" + filler}, true},
		{"target cut by the seam", []string{filler + "$xl.RegisterXLL('a.xll')\nGet-Service -Compu", "terName fs02\n" + filler}, true},
		{"value cut by the seam", []string{filler + "$xl.RegisterXLL('a.xll')\nGet-Service -ComputerName fs", "02\n" + filler}, true},
		{"a $null cut is not a host", []string{filler + "$xl.RegisterXLL('a.xll')\nGet-Service -ComputerName $nu", "ll\n" + filler}, false},
		{"a parameter inside a word is none", []string{filler + "$xl.RegisterXLL('a.xll')\nx", "-ComputerName fs02\n" + filler}, false},
		{"no target", []string{filler + "$xl.RegisterXLL('a.xll')\n" + filler, filler}, false},
		{"no token", []string{filler + "Get-Service -ComputerName fs02\n", filler}, false},
	} {
		for _, order := range [][]int{{0, 1}, {1, 0}} {
			a := New(rules.EdgeBytes)
			var evidence string
			got := 0
			for i, n := range order {
				text := tc.texts[n]
				alone := s.partAlone(text, n+1, 2)
				p := part("j", n+1, 2, text, int64(i+1))
				p.Facts = s.partFacts(text, n+1, 2, alone)
				added := a.Add(p, s.acrossWithFacts(&evidence), joinsLateral)
				if alone || added.Found || added.Joined {
					got++
					assert.Equal(t, 1, i, "%s %v: found on the part that completes the block", tc.name, order)
				}
				if added.Joined {
					v := s.e.EvaluateJoined(event(""), added.Facts.Tag, added.Facts.Bits)
					assert.Equal(t, "RegisterXLL with a remote target (across script block parts)", v.Evidence, tc.name)
				}
			}
			assert.Equal(t, tc.want, got == 1, "%s %v", tc.name, order)
			assert.Equal(t, tc.want, s.alone(strings.Join(tc.texts, "")), "%s: the whole text", tc.name)
		}
	}
}
