package sigma

import (
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// kind is the event a rule is evaluated on: process_creation comes as
// Sysmon 1 or as Security 4688, under other names.
type kind uint8

const (
	kindSysmon kind = iota
	kindSecurity
	kindCount
)

// kindOf returns the kind of a process creation from its expected log.
func kindOf(ev *winevent.Event) (kind, bool) {
	if !ev.FromExpectedLog() {
		return 0, false
	}
	switch ev.EventID {
	case winevent.SysmonProcessCreate:
		return kindSysmon, true
	case winevent.SecurityProcessCreate:
		return kindSecurity, true
	}
	return 0, false
}

// getter reads one taxonomy field of an event of one kind ("" when the
// event does not hold it).
type getter func(c *evalCtx) string

// taxonomyField is a field of Sigma's process_creation taxonomy (Sysmon 1's
// names) and where each kind holds it: Sysmon under the same name, 4688
// under the standard Windows mapping (Image is NewProcessName, ParentImage
// ParentProcessName, User the target account or else the subject, LogonId
// likewise, IntegrityLevel the mandatory label's level). A field 4688 does
// not carry has no Security getter: a search on it is unknown there (tri).
type taxonomyField struct {
	name string
	get  [kindCount]getter
	read [kindCount]winevent.Fields
}

func sysmonField(name string, f winevent.Fields, get func(ev *winevent.Event) string) taxonomyField {
	return taxonomyField{name: name, get: [kindCount]getter{func(c *evalCtx) string { return get(c.ev) }}, read: [kindCount]winevent.Fields{f}}
}

func bothFields(name string, sysmon winevent.Fields, sget func(ev *winevent.Event) string, security winevent.Fields, get getter) taxonomyField {
	return taxonomyField{
		name: name,
		get:  [kindCount]getter{func(c *evalCtx) string { return sget(c.ev) }, get},
		read: [kindCount]winevent.Fields{sysmon, security},
	}
}

// taxonomy is every field a process_creation rule may name. A new field is
// a row here (and, if the reader lacks it, a field in winevent).
var taxonomy = []taxonomyField{
	bothFields("Image", winevent.FieldImage, func(ev *winevent.Event) string { return ev.Image },
		winevent.FieldNewProcessName, func(c *evalCtx) string { return c.ev.NewProcessName }),
	bothFields("ParentImage", winevent.FieldParentImage, func(ev *winevent.Event) string { return ev.ParentImage },
		winevent.FieldParentProcessName, func(c *evalCtx) string { return c.ev.ParentProcessName }),
	bothFields("CommandLine", winevent.FieldCommandLine, func(ev *winevent.Event) string { return ev.CommandLine },
		winevent.FieldCommandLine, func(c *evalCtx) string { return c.ev.CommandLine }),
	bothFields("User", winevent.FieldUser, func(ev *winevent.Event) string { return ev.User },
		winevent.FieldTargetUserName|winevent.FieldTargetDomainName|winevent.FieldSubjectUserName|winevent.FieldSubjectDomainName,
		(*evalCtx).securityUser),
	bothFields("LogonId", winevent.FieldLogonID, func(ev *winevent.Event) string { return ev.LogonID },
		winevent.FieldTargetLogonID|winevent.FieldSubjectLogonID, securityLogonID),
	bothFields("IntegrityLevel", winevent.FieldIntegrityLevel, func(ev *winevent.Event) string { return ev.IntegrityLevel },
		winevent.FieldMandatoryLabel, func(c *evalCtx) string { return integrityLevel(c.ev.MandatoryLabel) }),
	sysmonField("ParentCommandLine", winevent.FieldParentCommandLine, func(ev *winevent.Event) string { return ev.ParentCommandLine }),
	sysmonField("OriginalFileName", winevent.FieldOriginalFileName, func(ev *winevent.Event) string { return ev.OriginalFileName }),
	sysmonField("CurrentDirectory", winevent.FieldCurrentDirectory, func(ev *winevent.Event) string { return ev.CurrentDirectory }),
	sysmonField("Description", winevent.FieldDescription, func(ev *winevent.Event) string { return ev.Description }),
	sysmonField("Product", winevent.FieldProduct, func(ev *winevent.Event) string { return ev.Product }),
	sysmonField("Company", winevent.FieldCompany, func(ev *winevent.Event) string { return ev.Company }),
	sysmonField("FileVersion", winevent.FieldFileVersion, func(ev *winevent.Event) string { return ev.FileVersion }),
	sysmonField("Hashes", winevent.FieldHashes, func(ev *winevent.Event) string { return ev.Hashes }),
	sysmonField("md5", winevent.FieldHashes, func(ev *winevent.Event) string { return hashOf(ev.Hashes, "MD5") }),
	sysmonField("sha1", winevent.FieldHashes, func(ev *winevent.Event) string { return hashOf(ev.Hashes, "SHA1") }),
	sysmonField("sha256", winevent.FieldHashes, func(ev *winevent.Event) string { return hashOf(ev.Hashes, "SHA256") }),
	sysmonField("Imphash", winevent.FieldHashes, func(ev *winevent.Event) string { return hashOf(ev.Hashes, "IMPHASH") }),
	sysmonField("LogonGuid", winevent.FieldLogonGUID, func(ev *winevent.Event) string { return ev.LogonGUID }),
	sysmonField("TerminalSessionId", winevent.FieldTerminalSessionID, func(ev *winevent.Event) string { return ev.TerminalSessionID }),
	sysmonField("ParentUser", winevent.FieldParentUser, func(ev *winevent.Event) string { return ev.ParentUser }),
	sysmonField("ProcessId", winevent.FieldProcessID, func(ev *winevent.Event) string { return ev.ProcessID }),
	sysmonField("ParentProcessId", winevent.FieldParentProcessID, func(ev *winevent.Event) string { return ev.ParentProcessID }),
	sysmonField("ProcessGuid", winevent.FieldProcessGUID, func(ev *winevent.Event) string { return ev.ProcessGUID }),
	sysmonField("ParentProcessGuid", winevent.FieldParentProcessGUID, func(ev *winevent.Event) string { return ev.ParentProcessGUID }),
	sysmonField("UtcTime", winevent.FieldUtcTime, func(ev *winevent.Event) string { return ev.UtcTime }),
}

// taxonomyIndex returns the index of a field name (-1: none).
func taxonomyIndex(name string) int {
	for i := range taxonomy {
		if taxonomy[i].name == name {
			return i
		}
	}
	return -1
}

// hashOf reads one hash out of Sysmon's Hashes ("MD5=…,SHA256=…,IMPHASH=…").
func hashOf(hashes, name string) string {
	for hashes != "" {
		var item string
		item, hashes, _ = strings.Cut(hashes, ",")
		if k, v, ok := strings.Cut(item, "="); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// integrityLevel names a 4688 mandatory label as Sysmon does.
func integrityLevel(label string) string {
	switch strings.ToUpper(strings.TrimSpace(label)) {
	case "S-1-16-0":
		return "Untrusted"
	case "S-1-16-4096":
		return "Low"
	case "S-1-16-8192":
		return "Medium"
	case "S-1-16-8448":
		return "MediumPlus"
	case "S-1-16-12288":
		return "High"
	case "S-1-16-16384":
		return "System"
	case "S-1-16-20480":
		return "Protected"
	}
	return label
}

// securityLogonID is the new process's logon session on 4688: the target's
// when the event has one, the subject's otherwise.
func securityLogonID(c *evalCtx) string {
	if usable(c.ev.TargetLogonID) && c.ev.TargetLogonID != "0x0" {
		return c.ev.TargetLogonID
	}
	return c.ev.SubjectLogonID
}

func usable(s string) bool { return s != "" && s != "-" }

// evalCtx is one evaluation of one event: its kind, and the 4688 user
// composed as Sysmon writes it (DOMAIN\name) at most once, in a buffer the
// context keeps between events.
type evalCtx struct {
	ev       *winevent.Event
	kind     kind
	user     string
	userDone bool
	buf      []byte

	// cur is the taxonomy field whose value is being matched; lowered
	// keeps its lower-cased copy, made once per event and field.
	cur      int
	lowerSet uint64 // fields whose copy is made
	nonASCII uint64 // fields whose value is not ASCII (no copy)
	lower    [maxTaxonomy]string
	bufs     [maxTaxonomy][]byte

	// candidates is the prefilter's bitset of rules to evaluate.
	candidates []uint64
}

// maxTaxonomy bounds the taxonomy, for the per-field caches.
const maxTaxonomy = 64

func (c *evalCtx) reset(ev *winevent.Event, k kind) {
	c.ev, c.kind, c.user, c.userDone = ev, k, "", false
	c.lowerSet, c.nonASCII = 0, 0
}

// lowered returns the lower-cased copy of the current field's value v,
// and false when v is not ASCII (it is then matched by folding). The copy
// is made once per event and field, in a buffer the context keeps.
func (c *evalCtx) lowered(v string) (string, bool) {
	bit := uint64(1) << uint(c.cur)
	if c.lowerSet&bit != 0 {
		return c.lower[c.cur], c.nonASCII&bit == 0
	}
	c.lowerSet |= bit
	upper := false
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case b >= utf8.RuneSelf:
			c.nonASCII |= bit
			return "", false
		case 'A' <= b && b <= 'Z':
			upper = true
		}
	}
	if !upper {
		c.lower[c.cur] = v
		return v, true
	}
	buf := c.bufs[c.cur][:0]
	for i := 0; i < len(v); i++ {
		b := v[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		buf = append(buf, b)
	}
	c.bufs[c.cur] = buf
	c.lower[c.cur] = unsafe.String(unsafe.SliceData(buf), len(buf)) //nolint:gosec // G103: a read-only view of the context's buffer, used only while this event is evaluated
	return c.lower[c.cur], true
}

// value reads a taxonomy field of the event.
func (c *evalCtx) value(field int) string {
	if g := taxonomy[field].get[c.kind]; g != nil {
		return g(c)
	}
	return ""
}

// securityUser is User on 4688: the account the new process runs as
// (winevent's Account), written DOMAIN\name.
func (c *evalCtx) securityUser() string {
	if c.userDone {
		return c.user
	}
	c.userDone = true
	domain, name := c.ev.Account()
	switch {
	case !usable(name):
		c.user = ""
	case !usable(domain):
		c.user = name
	default:
		c.buf = append(append(append(c.buf[:0], domain...), '\\'), name...)
		// The view lives as long as the context's buffer is not written,
		// which is until the next event.
		c.user = unsafe.String(unsafe.SliceData(c.buf), len(c.buf)) //nolint:gosec // G103: a read-only view of the context's buffer, used only while this event is evaluated
	}
	return c.user
}
