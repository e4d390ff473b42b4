package correlate

import (
	"strings"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Evidence written with correlation verdicts.
const (
	EvidenceServerChild   = "correlated: its creator process id is a COM server that DcomLaunch started, still running"
	EvidenceShellWindows  = "correlated: explorer.exe started it right around accepting an inbound DCOM connection from another host"
	EvidenceInboundServer = "correlated: its parent accepted an inbound DCOM connection from another host right around its start"
	explorerName          = "explorer.exe"
)

// EngineJudge decides with the rule engine's own tables and settings: the
// com_servers list, server_child_allowlist, the patterns switched on, their
// severities and the exclusions. It is immutable and safe for concurrent use.
type EngineJudge struct{ Engine *rules.Engine }

var _ Judge = EngineJudge{}

// IsServer reports whether the path names a listed COM server.
func (j EngineJudge) IsServer(image string) bool { return j.Engine.IsCOMServer(image) }

// ServerChild reports whether a 4688 child of a DCOM-launched server is a
// DCOM_ServerChild finding.
func (j EngineJudge) ServerChild(child, server Process) bool {
	return j.ServerChildVerdict(&child, &server).Detected()
}

// InboundChild reports whether the child of a process that accepted an
// inbound DCOM connection is a finding.
func (j EngineJudge) InboundChild(child Process, conn Conn) bool {
	return j.InboundChildVerdict(&child, &conn).Detected()
}

// Verdict is the verdict a finding makes on its own: DCOM_ServerChild for a
// server child, DCOM_ShellWindows for an explorer.exe inbound child,
// DCOM_ServerChild for another inbound child; empty for a logon join alone.
func (j EngineJudge) Verdict(f *Finding) rules.Verdict {
	switch {
	case f.Kinds.Has(ServerChild):
		return j.ServerChildVerdict(&f.Process, &f.Server)
	case f.Kinds.Has(InboundChild):
		return j.InboundChildVerdict(&f.Process, &f.Conn)
	}
	return rules.Verdict{}
}

// ServerChildVerdict applies the allow-list and the exclusions of
// DCOM_ServerChild, with the server's command line as the parent's.
func (j EngineJudge) ServerChildVerdict(child, server *Process) rules.Verdict {
	if j.Engine.Allowlisted(server.Image, child.Image) {
		return rules.Verdict{}
	}
	ev := processEvent(child, server.Image, server.CommandLine)
	return j.Engine.Correlated(rules.ServerChild, EvidenceServerChild, &ev)
}

// InboundChildVerdict judges an inbound child: explorer.exe children are
// DCOM_ShellWindows (no allow-list: explorer is not a COM server); children
// of the other watched processes are DCOM_ServerChild, allow-list included.
func (j EngineJudge) InboundChildVerdict(child *Process, conn *Conn) rules.Verdict {
	parent := conn.Image
	if parent == "" {
		parent = child.ParentImage
	}
	ev := processEvent(child, parent, "")
	if strings.EqualFold(BaseName(parent), explorerName) {
		return j.Engine.Correlated(rules.ShellWindows, EvidenceShellWindows, &ev)
	}
	if j.Engine.Allowlisted(parent, child.Image) {
		return rules.Verdict{}
	}
	return j.Engine.Correlated(rules.ServerChild, EvidenceInboundServer, &ev)
}

// processEvent rebuilds the fields exclusions match on.
func processEvent(p *Process, parentImage, parentCommandLine string) winevent.Event {
	user := p.UserName
	if p.UserDomain != "" && p.UserDomain != "-" {
		user = p.UserDomain + `\` + p.UserName
	}
	return winevent.Event{
		EventID:           winevent.SysmonProcessCreate, // accessors read the Sysmon names
		Computer:          p.Record.Host,
		Image:             p.Image,
		ParentImage:       parentImage,
		CommandLine:       p.CommandLine,
		ParentCommandLine: parentCommandLine,
		User:              user,
	}
}
