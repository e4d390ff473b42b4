#!/usr/bin/env python3
"""Builds bench/testdata/templates.xml and synth.xml, the event templates of the
benchmark generator. Run once from bench/testdata; the outputs are committed.

templates.xml: real events (one Windows event XML per line) of the kinds a
Windows pipeline sees most, picked from the recorded streams in the project's
shared corpus (OTRF Security-Datasets, MIT licence, "OTRF Security-Datasets";
mdecrevoisier/EVTX-to-MITRE-Attack, CC0-1.0): Sysmon 1, 3, 5 and Security 4624,
4634, 4672, 4688, 4689. Up to PER_KIND varied events of each kind.

synth.xml: Sysmon 7, 10, 11, 12, 13 and 22 are not in those recordings. These
lines are written here in the same layout, with the field set of each Sysmon
event schema (Sysmon 11-13 schema 4.x, as in the OTRF lab) and values
(hosts, images, GUID style) taken from the OTRF lab recordings.
"""
import glob
import random
import re
import sys

STREAMS = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/corpus/streams"
PER_KIND = 30
KINDS = {"1", "3", "5", "4624", "4634", "4672", "4688", "4689"}

random.seed(7)
by_kind = {}
for f in sorted(glob.glob(STREAMS + "/*.stream.xml")):
    for line in open(f, encoding="utf-8"):
        line = line.rstrip("\n")
        m = re.search(r"<EventID>(\d+)</EventID>", line)
        if not m or m.group(1) not in KINDS:
            continue
        # one event per distinct image / process name / logon type, for variety
        key = tuple(re.findall(r'Name="(?:Image|NewProcessName|ProcessName|LogonType|TargetUserName|'
                               r'SubjectUserName|IpAddress|DestinationPort|ParentImage)">([^<]*)<', line))
        by_kind.setdefault(m.group(1), {}).setdefault(key, line)

with open("templates.xml", "w", encoding="utf-8") as out:
    for kind in sorted(by_kind, key=int):
        lines = list(by_kind[kind].values())
        random.shuffle(lines)
        for line in lines[:PER_KIND]:
            out.write(line + "\n")

SYS = ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
       '<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"/>'
       '<EventID>%d</EventID><Version>%d</Version><Task>%d</Task><Opcode>0</Opcode>'
       '<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2020-09-18T19:00:10.000Z"/>'
       '<EventRecordID>1247463</EventRecordID><Execution ProcessID="3392" ThreadID="5552"/>'
       '<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>%s</Computer>'
       '<Security UserID="S-1-5-18"/></System><EventData>%s</EventData></Event>')

HOSTS = ["WORKSTATION5.theshire.local", "WORKSTATION6.theshire.local", "MORDORDC.theshire.local"]
IMAGES = [
    r"C:\Windows\System32\svchost.exe", r"C:\Windows\explorer.exe",
    r"C:\Program Files (x86)\Microsoft Office\root\Office16\EXCEL.EXE",
    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    r"C:\Program Files\Windows Defender\MsMpEng.exe", r"C:\Windows\System32\lsass.exe",
    r"C:\Windows\System32\wbem\WmiPrvSE.exe", r"C:\Windows\System32\services.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe", r"C:\Windows\System32\taskhostw.exe",
]
DLLS = [
    (r"C:\Windows\System32\ntdll.dll", "10.0.18362.1049 (WinBuild.160101.0800)", "NT Layer DLL", "ntdll.dll"),
    (r"C:\Windows\System32\kernel32.dll", "10.0.18362.1049 (WinBuild.160101.0800)", "Windows NT BASE API Client DLL", "kernel32"),
    (r"C:\Windows\System32\combase.dll", "10.0.18362.1049 (WinBuild.160101.0800)", "Microsoft COM for Windows", "COMBASE.DLL"),
    (r"C:\Windows\System32\rpcrt4.dll", "10.0.18362.1049 (WinBuild.160101.0800)", "Remote Procedure Call Runtime", "rpcrt4.dll"),
    (r"C:\Windows\System32\amsi.dll", "10.0.18362.1 (WinBuild.160101.0800)", "Anti-Malware Scan Interface", "amsi.dll"),
    (r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clr.dll", "4.8.4220.0 built by: NET48REL1LAST_C", "Microsoft .NET Runtime Common Language Runtime - WorkStation", "clr.dll"),
    (r"C:\Windows\System32\wbem\wbemprox.dll", "10.0.18362.1 (WinBuild.160101.0800)", "WMI", "wbemprox.dll"),
    (r"C:\Program Files (x86)\Microsoft Office\root\Office16\mso20win32client.dll", "16.0.13127.20408", "Microsoft Office 2016 component", "mso20win32client.dll"),
]


def data(pairs):
    return "".join('<Data Name="%s">%s</Data>' % (n, v) for n, v in pairs)


def guid():
    return "{%08x-%04x-%04x-%04x-%012x}" % (random.getrandbits(32), random.getrandbits(16), 0x5f64,
                                            random.getrandbits(16), random.getrandbits(48))


def h(n):
    return "".join(random.choice("0123456789ABCDEF") for _ in range(n))


lines = []
for i in range(12):  # 7 ImageLoad
    img = random.choice(IMAGES)
    dll = DLLS[i % len(DLLS)]
    lines.append(SYS % (7, 3, 7, random.choice(HOSTS), data([
        ("RuleName", "-"), ("UtcTime", "2020-09-18 19:00:09.352"), ("ProcessGuid", guid()),
        ("ProcessId", str(random.randint(400, 12000))), ("Image", img), ("ImageLoaded", dll[0]),
        ("FileVersion", dll[1]), ("Description", dll[2]), ("Product", "Microsoft® Windows® Operating System"),
        ("Company", "Microsoft Corporation"), ("OriginalFileName", dll[3]),
        ("Hashes", "SHA1=%s,MD5=%s,SHA256=%s,IMPHASH=%s" % (h(40), h(32), h(64), h(32))),
        ("Signed", "true"), ("Signature", "Microsoft Windows"), ("SignatureStatus", "Valid")])))
for i in range(8):  # 10 ProcessAccess
    src, dst = random.choice(IMAGES), random.choice(IMAGES)
    lines.append(SYS % (10, 3, 10, random.choice(HOSTS), data([
        ("RuleName", "-"), ("UtcTime", "2020-09-18 19:00:09.352"), ("SourceProcessGUID", guid()),
        ("SourceProcessId", str(random.randint(400, 12000))), ("SourceThreadId", str(random.randint(400, 12000))),
        ("SourceImage", src), ("TargetProcessGUID", guid()), ("TargetProcessId", str(random.randint(400, 12000))),
        ("TargetImage", dst), ("GrantedAccess", random.choice(["0x1000", "0x1400", "0x1410", "0x101541"])),
        ("CallTrace", r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\System32\KERNELBASE.dll+2730e|"
                      r"C:\Windows\system32\lsasrv.dll+1cf5a|C:\Windows\System32\RPCRT4.dll+76953|"
                      r"C:\Windows\System32\RPCRT4.dll+da0a6|C:\Windows\System32\RPCRT4.dll+37a5c|"
                      r"C:\Windows\System32\RPCRT4.dll+548c8|C:\Windows\System32\KERNEL32.DLL+17bd4|"
                      r"C:\Windows\SYSTEM32\ntdll.dll+6ce51")])))
for i in range(10):  # 11 FileCreate
    img = random.choice(IMAGES)
    target = random.choice([
        r"C:\Windows\Prefetch\SVCHOST.EXE-%s.pf" % h(8),
        r"C:\Users\pgustavo\AppData\Local\Temp\__PSScriptPolicyTest_%s.%s.ps1" % (h(8).lower(), h(3).lower()),
        r"C:\Users\sbeavers\AppData\Local\Microsoft\Windows\INetCache\IE\%s\update[1].xml" % h(8),
        r"C:\Windows\ServiceProfiles\LocalService\AppData\Local\Temp\MpCmdRun.log",
        r"C:\ProgramData\Microsoft\Windows Defender\Scans\History\Service\DetectionHistory\%s" % h(16),
    ])
    lines.append(SYS % (11, 2, 11, random.choice(HOSTS), data([
        ("RuleName", "-"), ("UtcTime", "2020-09-18 19:00:09.352"), ("ProcessGuid", guid()),
        ("ProcessId", str(random.randint(400, 12000))), ("Image", img), ("TargetFilename", target),
        ("CreationUtcTime", "2020-09-18 19:00:09.352")])))
KEYS = [
    r"HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\S-1-5-21-4228717743-1032521047-1810997296-1104\\Device\HarddiskVolume2\Windows\System32\svchost.exe",
    r"HKU\S-1-5-21-4228717743-1032521047-1810997296-1104\Software\Microsoft\Windows\CurrentVersion\Explorer\UserAssist\{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}\Count",
    r"HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\SignaturesLastUpdated",
    r"HKLM\System\CurrentControlSet\Services\W32Time\Config\LastKnownGoodTime",
    r"HKU\.DEFAULT\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections\DefaultConnectionSettings",
    r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tree\Microsoft\Windows\UpdateOrchestrator\Schedule Scan\Index",
]
for i in range(8):  # 12 Registry object create/delete
    lines.append(SYS % (12, 2, 12, random.choice(HOSTS), data([
        ("RuleName", "-"), ("EventType", random.choice(["CreateKey", "DeleteKey"])),
        ("UtcTime", "2020-09-18 19:00:09.352"), ("ProcessGuid", guid()),
        ("ProcessId", str(random.randint(400, 12000))), ("Image", random.choice(IMAGES)),
        ("TargetObject", random.choice(KEYS))])))
for i in range(10):  # 13 Registry value set
    lines.append(SYS % (13, 2, 13, random.choice(HOSTS), data([
        ("RuleName", "-"), ("EventType", "SetValue"), ("UtcTime", "2020-09-18 19:00:09.352"),
        ("ProcessGuid", guid()), ("ProcessId", str(random.randint(400, 12000))),
        ("Image", random.choice(IMAGES)), ("TargetObject", random.choice(KEYS)),
        ("Details", random.choice(["DWORD (0x00000001)", "QWORD (0x01d68dea-0x8f2a5b10)",
                                   "Binary Data", r"C:\Windows\system32\svchost.exe -k netsvcs -p"]))])))
for i in range(8):  # 22 DNS query
    q = random.choice(["MORDORDC.theshire.local", "wpad.theshire.local", "settings-win.data.microsoft.com",
                       "ctldl.windowsupdate.com", "WORKSTATION6.theshire.local", "login.live.com"])
    lines.append(SYS % (22, 5, 22, random.choice(HOSTS), data([
        ("RuleName", "-"), ("UtcTime", "2020-09-18 19:00:09.352"), ("ProcessGuid", guid()),
        ("ProcessId", str(random.randint(400, 12000))), ("QueryName", q), ("QueryStatus", "0"),
        ("QueryResults", random.choice(["172.18.38.5;", "type:  5 settings-win.data.microsoft.com.akadns.net;::ffff:40.77.226.250;", "::ffff:13.107.4.50;"])),
        ("Image", random.choice(IMAGES))])))
with open("synth.xml", "w", encoding="utf-8") as out:
    for line in lines:
        out.write(line + "\n")
