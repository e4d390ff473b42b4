package correlate

import (
	"bytes"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Bounds of the strings the correlation reads and keeps, in bytes. Every
// value is cut where it is read, so that a kept value and the value it is
// compared with are cut alike, and the state's size has a worst case
// (WorstCase). No real Windows value reaches them: a computer name has at
// most 255 bytes, a MAX_PATH path at most 780 (260 characters of three
// bytes), a GUID 38, a logon id 18, an address 45 with its zone.
const (
	maxStoredName        = 256  // computer, channel, user, domain, workstation, package, logon process
	maxStoredID          = 64   // GUIDs, logon ids, addresses
	maxStoredPath        = 1024 // image paths: the end is kept, the file name decides
	maxStoredCommandLine = 2048 // the start is kept (the record itself keeps all of it)
)

func boundName(s string) string { return truncate(s, maxStoredName) }

func boundID(s string) string { return truncate(s, maxStoredID) }

// boundPath keeps a path's last maxStoredPath bytes, from a rune start.
func boundPath(s string) string {
	if len(s) <= maxStoredPath {
		return s
	}
	i := len(s) - maxStoredPath
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}

func recordOf(ev *winevent.Event, t int64) RecordRef {
	return RecordRef{Host: boundName(ev.Computer), RecordID: ev.RecordID, EventID: ev.EventID, Channel: boundName(ev.Channel), Time: t}
}

// processOf reads the schema-independent view of a Sysmon 1 or 4688 event.
// Its strings point into the event.
func processOf(ev *winevent.Event, t int64) Process {
	p := Process{Record: recordOf(ev, t), Time: t, CommandLine: ev.CommandLine}
	if ev.EventID == winevent.SysmonProcessCreate {
		if u, ok := winevent.ParseTime(ev.UtcTime); ok {
			p.Time = u
		}
		p.Image, p.ParentImage = boundPath(ev.Image), boundPath(ev.ParentImage)
		p.PID, p.ParentPID = parsePID(ev.ProcessID), parsePID(ev.ParentProcessID)
		p.GUID, p.ParentGUID = boundID(ev.ProcessGUID), boundID(ev.ParentProcessGUID)
		domain, name := splitUser(ev.User)
		p.UserDomain, p.UserName = boundName(domain), boundName(name)
		p.LogonID = boundID(ev.LogonID)
		return p
	}
	p.Image, p.ParentImage = boundPath(ev.NewProcessName), boundPath(ev.ParentProcessName)
	p.PID, p.ParentPID = parsePID(ev.NewProcessID), parsePID(ev.ProcessID)
	if usable(ev.TargetUserName) {
		p.UserDomain, p.UserName = boundName(ev.TargetDomainName), boundName(ev.TargetUserName)
	} else {
		p.UserDomain, p.UserName = boundName(ev.SubjectDomainName), boundName(ev.SubjectUserName)
	}
	p.LogonID, p.SubjectLogonID = boundID(ev.TargetLogonID), boundID(ev.SubjectLogonID)
	return p
}

func usable(s string) bool { return s != "" && s != "-" }

func splitUser(u string) (domain, name string) {
	if i := strings.IndexByte(u, '\\'); i >= 0 {
		return u[:i], u[i+1:]
	}
	return "", u
}

// pack copies strings into one allocation, so that state keeps neither the
// record's body (an XML body is one large string) nor many small objects.
func pack(fields ...*string) {
	total := 0
	for _, f := range fields {
		total += len(*f)
	}
	if total == 0 {
		return
	}
	var b strings.Builder
	b.Grow(total)
	for _, f := range fields {
		b.WriteString(*f)
	}
	all := b.String()
	off := 0
	for _, f := range fields {
		n := len(*f)
		*f = all[off : off+n]
		off += n
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// clone returns a copy that owns its strings, with the command line cut to
// maxStoredCommandLine bytes (its other strings were bounded when read). Its
// record copy (Original) is the caller's to keep or drop.
func (p Process) clone() Process {
	p.CommandLine = truncate(p.CommandLine, maxStoredCommandLine)
	f := p.fields()
	pack(f[:]...)
	return p
}

// detached is a copy of a process taken from the state, for a finding: its
// strings and its record copy are its own (the entry's buffer serves another
// entry once it leaves).
func (p Process) detached() Process {
	p = p.clone()
	p.Original.Record = bytes.Clone(p.Original.Record)
	return p
}

func (c Conn) clone() Conn {
	f := c.fields()
	pack(f[:]...)
	return c
}

func (l LogonInfo) clone() LogonInfo {
	f := l.fields()
	pack(f[:]...)
	return l
}

// parsePID reads a process id: decimal (Sysmon) or 0x-hex (Security).
func parsePID(s string) uint32 {
	n, ok := parseNumber(s)
	if !ok || n > 0xFFFFFFFF {
		return 0
	}
	return uint32(n)
}

// parseLogonID reads a logon id (0x-hex LUID as Windows writes it, with or
// without leading zeros).
func parseLogonID(s string) uint64 {
	n, _ := parseNumber(s)
	return n
}

func parseNumber(s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s, base = s[2:], 16
	}
	if len(s) > 20 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		var d uint64
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		n = n*base + d
	}
	return n, true
}

func parsePort(s string) uint16 {
	n, ok := parseNumber(s)
	if !ok || n > 65535 {
		return 0
	}
	return uint16(n)
}

func parseBool(s string) (bool, bool) {
	s = strings.TrimSpace(s)
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

func addrPort(addr string, port uint16) (netip.AddrPort, bool) {
	a, ok := parseIP(addr)
	if !ok || port == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, port), true
}

// parseIP reads an address as Windows writes it ("-" for none), without
// allocating for the usual values (netip's error does, so the obvious
// non-addresses are turned away first). IPv4-mapped IPv6 is unmapped.
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s == "-" || strings.IndexFunc(s, notAddrRune) >= 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func notAddrRune(r rune) bool {
	switch {
	case '0' <= r && r <= '9', 'a' <= r && r <= 'f', 'A' <= r && r <= 'F', r == '.', r == ':', r == '%':
		return false
	}
	return true
}

// sameProcess compares two process identities: by ProcessGuid when both
// have one, otherwise by process id (the callers bound the time, which is
// what makes an id, reused by Windows, identify one process).
func sameProcess(guidA string, pidA uint32, guidB string, pidB uint32) bool {
	if guidA != "" && guidB != "" {
		return strings.EqualFold(guidA, guidB)
	}
	return pidA != 0 && pidA == pidB
}

// BaseName returns the file name of a Windows path.
func BaseName(path string) string {
	path = rules.TrimNoise(path)
	for path != "" && (path[len(path)-1] == '\\' || path[len(path)-1] == '/') {
		path = path[:len(path)-1]
	}
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '\\' || path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}

// isParent reports whether a path names one of the watched processes.
func (c *Correlator) isParent(path string) bool {
	if path == "" {
		return false
	}
	name := BaseName(path)
	for _, p := range c.parents {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}
