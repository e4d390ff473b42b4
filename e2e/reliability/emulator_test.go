package reliability

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// idPattern finds the catalogue id in a text line: every fixture's computer
// name is <id>.catalogue.test.
var idPattern = regexp.MustCompile(`\b([A-Z]\d{2})\.catalogue\.test\b`)

// emuMode is how the HTTP Source emulator answers.
type emuMode int

const (
	// modeOK accepts every request with 200.
	modeOK emuMode = iota
	// modeUnavailable answers 503 (no Retry-After).
	modeUnavailable
	// modeDown has no listener: connections are refused. The port stays
	// bound meanwhile (reservePort), so that no other test's listener
	// takes it.
	modeDown
	// modeHang reads the request and never answers; the connection stays
	// open until the client gives up or the emulator is closed.
	modeHang
	// modeLoseResponse accepts (counts) the records, then closes the
	// connection without an answer: the client cannot know they arrived.
	modeLoseResponse
	// modeStatus answers the configured status with a Sumo-style JSON body
	// that quotes the request path (the secret), as a hostile proxy might.
	modeStatus
)

// sumoEmulator is a Sumo Logic HTTP Logs Source on 127.0.0.1: POSTs to
// /receiver/v1/http/<random token>, log_format text (one record per line,
// gzip or deflate). It records which catalogue ids it accepted (200) and
// which it saw in requests it failed, and it can go down (connection
// refused) and come back on the same port.
type sumoEmulator struct {
	t     *testing.T
	token string
	path  string
	addr  string

	mu       sync.Mutex
	reserved func() // releases the port kept while down
	mode     emuMode
	status   int // for modeStatus
	// okBudget, when not negative, is how many more requests modeOK
	// accepts; after that it answers 503.
	okBudget int
	// failFirst is how many more requests modeOK answers with 503 before it
	// accepts them.
	failFirst int
	srv       *http.Server
	hung      []net.Conn
	release   chan struct{} // closed to let hung requests go
	accepted  map[string]int
	attempted map[string]int // ids in requests that were not accepted
	lost      map[string]int // ids accepted without a response (modeLoseResponse)
	statuses  map[string]int // "200", "503", "hang", "lost", "wrong path", ...
	// firstFailure is when a request was first failed (not accepted).
	firstFailure time.Time
	lines        int // every line received
	okLines      int // lines accepted with 200
	// okBodies counts the requests accepted with 200 by their content
	// (SHA-256 of the lines): a request delivered twice counts 2.
	okBodies map[string]int
}

func newSumoEmulator(t *testing.T, mode emuMode) *sumoEmulator {
	t.Helper()
	e := &sumoEmulator{
		t: t, token: randomToken(t), mode: mode, okBudget: -1, release: make(chan struct{}),
		accepted: map[string]int{}, attempted: map[string]int{}, lost: map[string]int{}, statuses: map[string]int{}, okBodies: map[string]int{},
	}
	e.path = "/receiver/v1/http/" + e.token
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e.addr = l.Addr().String()
	if mode == modeDown {
		require.NoError(t, l.Close())
		e.reserve()
	} else {
		e.serve(l)
	}
	t.Cleanup(e.close)
	return e
}

// randomToken is the HTTP Source code: random, so that a test can search
// any output for it.
func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 18)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "SECRET" + hex.EncodeToString(b)
}

// url is the endpoint for the exporter config; it contains the token.
func (e *sumoEmulator) url() string { return "http://" + e.addr + e.path }

// serve must be called with e.mu held or before the emulator is shared.
func (e *sumoEmulator) serve(l net.Listener) {
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	srv := e.srv
	go func() { _ = srv.Serve(l) }()
}

// setMode switches the emulator; modeDown closes the listener and every
// open connection, and leaving modeDown listens on the same port again.
func (e *sumoEmulator) setMode(mode emuMode) {
	e.setModeStatus(mode, 0)
}

func (e *sumoEmulator) setModeStatus(mode emuMode, status int) {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.mode
	e.mode, e.status = mode, status
	if was == modeHang && mode != modeHang {
		e.releaseHungLocked()
	}
	switch {
	case mode == modeDown && was != modeDown:
		_ = e.srv.Close()
		e.srv = nil
		e.reserve()
	case mode != modeDown && was == modeDown:
		e.unreserve()
		// The port was ours a moment ago; on loopback nobody else takes it,
		// but allow the kernel a few tries to release it.
		var l net.Listener
		var err error
		for range 50 {
			if l, err = net.Listen("tcp", e.addr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.NoError(e.t, err, "the emulator could not listen on %s again", e.addr)
		e.serve(l)
	}
}

// reserve keeps the port while the emulator is down (reservePort); it is
// called with e.mu held.
func (e *sumoEmulator) reserve() {
	e.t.Helper()
	var release func()
	var err error
	for range 50 { // the listener's socket may take a moment to go
		if release, err = reservePort(e.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(e.t, err, "the emulator could not keep its port %s while down", e.addr)
	e.reserved = release
}

// unreserve lets the port go, to listen on it again; with e.mu held.
func (e *sumoEmulator) unreserve() {
	if e.reserved != nil {
		e.reserved()
		e.reserved = nil
	}
}

// setOKBudget limits how many more requests modeOK accepts (negative: no
// limit).
func (e *sumoEmulator) setOKBudget(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.okBudget = n
}

// setFailFirst makes modeOK answer the next n requests with 503.
func (e *sumoEmulator) setFailFirst(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failFirst = n
}

func (e *sumoEmulator) releaseHungLocked() {
	close(e.release)
	e.release = make(chan struct{})
	for _, c := range e.hung {
		_ = c.Close()
	}
	e.hung = nil
}

func (e *sumoEmulator) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.releaseHungLocked()
	e.unreserve()
	if e.srv != nil {
		_ = e.srv.Close()
		e.srv = nil
	}
}

func (e *sumoEmulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != e.path {
		e.count("wrong path")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	ids, lines, digest, err := readTextBody(r)
	if err != nil {
		e.count("bad body")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.lines += lines
	mode, status, release := e.mode, e.status, e.release
	if mode == modeOK && e.failFirst > 0 {
		e.failFirst--
		mode = modeUnavailable
	}
	if mode == modeOK && e.okBudget >= 0 {
		if e.okBudget == 0 {
			mode = modeUnavailable
		} else {
			e.okBudget--
		}
	}
	if mode != modeOK && mode != modeLoseResponse && e.firstFailure.IsZero() {
		e.firstFailure = time.Now()
	}
	switch mode {
	case modeOK:
		addAll(e.accepted, ids)
		e.okLines += lines
		e.okBodies[digest]++
		e.statuses["200"]++
		e.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case modeLoseResponse:
		addAll(e.accepted, ids)
		addAll(e.lost, ids)
		e.statuses["lost"]++
		e.mu.Unlock()
		e.dropConnection(w)
	case modeHang:
		addAll(e.attempted, ids)
		e.statuses["hang"]++
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			e.hung = append(e.hung, conn)
		}
		e.mu.Unlock()
		if err == nil {
			<-release // closed by setMode or close, which also close conn
		}
	default: // modeUnavailable; modeDown can only see requests already in flight
		addAll(e.attempted, ids)
		code := http.StatusServiceUnavailable
		if mode == modeStatus {
			code = status
		}
		e.statuses[strconv.Itoa(code)]++
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		// Sumo's error body, quoting the path: the exporter must scrub it.
		_, _ = fmt.Fprintf(w, `{"id":"EMU-1","code":"emulator.%d","message":"refused POST %s"}`, code, e.path)
	}
}

// dropConnection closes the connection without writing a response.
func (e *sumoEmulator) dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	_ = conn.Close()
}

func (e *sumoEmulator) count(what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.statuses[what]++
}

func addAll(m map[string]int, ids []string) {
	for _, id := range ids {
		m[id]++
	}
}

// readTextBody decompresses a text request and returns the catalogue id of
// every line that has one, and the number of lines.
func readTextBody(r *http.Request) (ids []string, lines int, digest string, err error) {
	body, err := collectortest.RequestBody(r)
	if err != nil {
		return nil, 0, "", err
	}
	defer body.Close()
	h := sha256.New()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64*1024), 2*1024*1024)
	for sc.Scan() {
		lines++
		h.Write(sc.Bytes())
		h.Write([]byte{'\n'})
		if m := idPattern.FindStringSubmatch(sc.Text()); m != nil {
			ids = append(ids, m[1])
		}
	}
	return ids, lines, hex.EncodeToString(h.Sum(nil)), sc.Err()
}

// snapshot copies the emulator's counters.
type emuSnapshot struct {
	accepted, attempted, lost, statuses map[string]int
	okBodies                            map[string]int
	firstFailure                        time.Time
	lines, okLines                      int
}

func (e *sumoEmulator) snapshot() emuSnapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := func(m map[string]int) map[string]int {
		out := make(map[string]int, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return emuSnapshot{
		accepted: cp(e.accepted), attempted: cp(e.attempted), lost: cp(e.lost), statuses: cp(e.statuses), okBodies: cp(e.okBodies),
		firstFailure: e.firstFailure, lines: e.lines, okLines: e.okLines,
	}
}

// coversAll reports whether every id appears in m.
func coversAll(m map[string]int, ids []string) bool {
	for _, id := range ids {
		if m[id] == 0 {
			return false
		}
	}
	return true
}
