package rules

// The seed query's lists, exactly as written (names compared after lower-casing).
var (
	// seedWhereParents is the WHERE clause's parent list (six names).
	seedWhereParents = []string{"mmc.exe", "excel.exe", "winword.exe", "outlook.exe", "powerpnt.exe", "visio.exe"}
	// seedClassParents is the classification list: visio is missing (bug B5).
	seedClassParents = []string{"mmc.exe", "excel.exe", "winword.exe", "outlook.exe", "powerpnt.exe"}
	// seedChildren is the child list (eight names).
	seedChildren = []string{
		"cmd.exe", "powershell.exe", "wscript.exe", "cscript.exe",
		"mshta.exe", "rundll32.exe", "regsvr32.exe", "certutil.exe",
	}
)

// List names, as used in configuration.
const (
	ListCOMParents           = "com_parents"
	ListSuspiciousChildren   = "suspicious_children"
	ListCOMServers           = "com_servers"
	ListServerChildAllowlist = "server_child_allowlist"
	ListSourceTokens         = "source_tokens"
	ListDualUseTokens        = "dual_use_tokens" //nolint:gosec // G101: a list name, not a credential
)

// DefaultLists are the extended profile's tables. Each can be extended or
// trimmed from configuration.
func DefaultLists() map[string][]string {
	return map[string][]string{
		// Parents whose shell or LOLBin children are COM_SuspiciousChild: the
		// seed's six, with visio classified too.
		ListCOMParents: {
			"mmc.exe", "excel.exe", "winword.exe", "outlook.exe", "powerpnt.exe", "visio.exe",
			"msaccess.exe", "mspub.exe", "onenote.exe",
		},
		// Shells and LOLBins (by image name or OriginalFileName) that have no
		// business under a COM server (seed list plus pwsh, msbuild and the
		// LOLBins of Sigma 05a2ab7e / 438025f9).
		ListSuspiciousChildren: {
			"cmd.exe", "powershell.exe", "pwsh.exe", "powershell_ise.exe", "wscript.exe", "cscript.exe",
			"mshta.exe", "rundll32.exe", "regsvr32.exe", "certutil.exe", "msbuild.exe",
			"bitsadmin.exe", "installutil.exe", "regasm.exe", "regsvcs.exe",
			"wmic.exe", "schtasks.exe", "sc.exe", "reg.exe", "net.exe", "net1.exe",
			"bash.exe", "sh.exe", "wsl.exe", "curl.exe", "hh.exe", "forfiles.exe",
			"msxsl.exe", "odbcconf.exe", "cmstp.exe", "scriptrunner.exe",
			"whoami.exe", "nltest.exe", "csc.exe", "vbc.exe", "jsc.exe",
		},
		// COM servers abused over DCOM: DcomLaunch starting one of them with
		// -Embedding or /automation is DCOM_ServerActivation, and their
		// children are DCOM_ServerChild. ielowutil.exe is Internet Explorer's
		// out-of-process InternetExplorer.Application helper.
		ListCOMServers: {
			"mmc.exe", "excel.exe", "winword.exe", "powerpnt.exe", "outlook.exe", "visio.exe",
			"msaccess.exe", "mspub.exe", "mshta.exe", "iexplore.exe", "ielowutil.exe",
		},
		// Benign helpers a COM server starts on its own: "child" or
		// "parent>child", '*' wildcards allowed.
		ListServerChildAllowlist: {
			"splwow64.exe", "appvdllsurrogate*.exe", "mmc.exe>mmc.exe", "vmconnect.exe", "certreq.exe",
			"deviceproperties.exe", "werfault.exe", "dwwin.exe", "msosync.exe", "msoia.exe",
			"officeclicktorun.exe", "ai.exe", "msoadfsb.exe", "msoasb.exe", "ielowutil.exe",
			// help links and documentation open the default browser
			"msedge.exe", "chrome.exe", "firefox.exe", "iexplore.exe", "opera.exe", "brave.exe",
		},
		// Attacker-side tokens that are lateral movement by nature, matched
		// case-insensitively anywhere in a command line or script; "(host)"
		// marks a call that counts only with a server argument:
		// GetTypeFromProgID("MMC20.Application", "10.0.0.5").
		ListSourceTokens: {
			"GetTypeFromProgID(host)",
			"GetTypeFromCLSID(host)",
			"CreateObject(host)",  // VBScript CreateObject(class, servername); not WScript.CreateObject
			"ActiveXObject(host)", // JScript new ActiveXObject(class, servername)
			"Invoke-DCOM",
			"dcomexec",
			"action=dcom",
			"action=hijackdcom",
		},
		// Tokens that also serve local COM use, another technique: Excel
		// add-ins (T1137.006), ShellWindows on this machine (T1559.001),
		// Office automation. They count as lateral movement only when the same
		// text names a target (targetParameters); a "(host)" call with a
		// server argument counts by itself.
		ListDualUseTokens: {
			"MMC20.Application",
			"49B2791A-B1AE-4C90-9B8E-E860BA07F889", // MMC20.Application CLSID
			"9BA05972-F6A8-11CF-A442-00A0C90A8F39", // ShellWindows
			"C08AFD90-F2A1-11D1-8455-00A0C91F3880", // ShellBrowserWindow
			"ExecuteShellCommand",
			"Document.Application.ShellExecute",
			"DDEInitiate",
			"RegisterXLL",
			"ActivateMicrosoftApp",
			"ExecuteExcel4Macro",
		},
	}
}

// embeddingMarkers are the arguments COM passes to an out-of-process server it
// launches, after their '-' or '/': -Embedding (and /automation for Office).
// Matched as whole arguments (commandLineArgs), never inside another word.
var embeddingMarkers = []string{"embedding", "automation"}

// impacketRedirect is impacket dcomexec's output capture: cmd.exe /Q /c ...
// 1> \\127.0.0.1\ADMIN$\__<time> 2>&1 (Sigma 10c14723). All tokens must be present.
var impacketRedirect = []string{"/q", "/c", `\\127.0.0.1\`, "2>&1"}

// impacketParents are the processes dcomexec's objects run their command
// under: MMC20 (mmc.exe), ShellWindows and ShellBrowserWindow (explorer.exe).
var impacketParents = []string{"mmc.exe", "explorer.exe"}

// childWithoutParentCommandLine lists servers whose children are suspicious
// even when the parent's command line is unknown (Security 4688): an
// Internet Explorer that starts anything but its own helpers is being driven.
var childWithoutParentCommandLine = []string{"iexplore.exe"}

// callsNotAfter are "(host)" calls whose name after this prefix is another
// method: WScript.CreateObject's second argument is an event prefix, not a
// server.
var callsNotAfter = map[string]string{"createobject": "wscript."}

// targetParameters name the computer a tool acts on, after '-', '--' or
// '/' and before a space, ':' or '=': -ComputerName srv01, /target:srv01.
// targetKeys do so as key=value (SharpMove's computername=srv01). A
// dual-use token counts as lateral movement when one of them in the same
// text names a host.
var (
	targetParameters = []string{
		"computername", "computer", "cn", "target", "targethost", "remotehost", "rhost", "server", "servername",
	}
	targetKeys = []string{"computername", "target", "targethost", "remotehost", "rhost"}
)

// notHosts are second arguments of a "(host)" call that name no server:
// GetTypeFromProgID(progID, throwOnError) and null or empty servers.
var notHosts = []string{
	"$null", "null", "nothing", "vbnullstring", "$true", "$false", "true", "false",
	"[nullstring]::value", "[string]::empty", "string.empty",
}

// loopbackHosts name the machine itself. A call that names it takes the
// remote-activation path but stays on the machine: Atomic Red Team's
// T1021.003 tests do so by default. 127.0.0.0/8 and the event's own
// computer name count too.
var loopbackHosts = []string{
	"localhost", ".", "::1", "[::1]", "0:0:0:0:0:0:0:1",
	"$env:computername", "%computername%", "[environment]::machinename", "[system.environment]::machinename",
	"environment.machinename", "[net.dns]::gethostname()", "[system.net.dns]::gethostname()",
}
