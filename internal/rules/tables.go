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
		// Attacker-side tokens, matched case-insensitively anywhere in a command
		// line; "(host)" marks a method that only counts with a remote-host argument.
		ListSourceTokens: {
			"MMC20.Application",
			"49B2791A-B1AE-4C90-9B8E-E860BA07F889", // MMC20.Application CLSID
			"9BA05972-F6A8-11CF-A442-00A0C90A8F39", // ShellWindows
			"C08AFD90-F2A1-11D1-8455-00A0C91F3880", // ShellBrowserWindow
			"GetTypeFromProgID(host)",
			"GetTypeFromCLSID(host)",
			"ExecuteShellCommand",
			"Document.Application.ShellExecute",
			"DDEInitiate",
			"RegisterXLL",
			"ActivateMicrosoftApp",
			"ExecuteExcel4Macro",
			"Invoke-DCOM",
			"dcomexec",
			"action=dcom",
			"action=hijackdcom",
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
