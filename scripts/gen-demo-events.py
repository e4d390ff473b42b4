#!/usr/bin/env python3
"""Write the sample events of `make run` (config/demo.yaml) into testdata/demo/.

  events.xml    one raw event XML per line (what `windowseventlog` with raw: true emits)
  events.jsonl  one structured receiver body per line (what `windowseventlog`
                emits by default; some lines use event_data_format: array)
  expected.json record id -> DetectionPattern (extended profile) or "none";
                e2e/demo_test.go checks the demo against it

The DCOM attacks are catalogue events (testdata/catalogue/catalogue.jsonl,
picked by id) given the host, time and process fields of a real Sysmon or
Security record; the ordinary activity is written here. The output is
committed: run this only to change the sample. Standard library only.
"""
import hashlib
import json
import os
import sys
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "testdata", "demo")
CATALOGUE = os.path.join(ROOT, "testdata", "catalogue", "catalogue.jsonl")
CATALOGUE_EXPECTED = os.path.join(ROOT, "testdata", "catalogue", "expected.json")

RECORD_ID_BASE = 184200  # EventRecordID / record_id of line n is RECORD_ID_BASE + n
SYSMON = ("Microsoft-Windows-Sysmon", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "Microsoft-Windows-Sysmon/Operational")
SECURITY = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}", "Security")

# (file, catalogue id or None, host, overrides): the order is the order of the lines.
# A catalogue id brings the process fields of a DCOM attack (or of a benign
# look-alike); None means the event is given in full by `overrides`.
SAMPLE = [
    # --- events.xml (raw XML) ---
    ("xml", None, "WS-FIN-023.corp.example.com", {"EventID": 4624, "TargetUserName": "jdoe", "TargetDomainName": "CORP",
        "LogonType": "2", "LogonProcessName": "User32", "AuthenticationPackageName": "Negotiate",
        "WorkstationName": "WS-FIN-023", "IpAddress": "127.0.0.1", "TargetLogonId": "0x3e7a21"}),
    ("xml", None, "WS-FIN-023.corp.example.com", {"EventID": 1, "Image": "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "ParentImage": "C:\\Windows\\explorer.exe", "CommandLine": "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\"",
        "ParentCommandLine": "C:\\Windows\\Explorer.EXE", "User": "CORP\\jdoe"}),
    ("xml", "C10", "WS-FIN-023.corp.example.com", {}),
    ("xml", "A02", "WS-FIN-023.corp.example.com", {}),
    ("xml", None, "SRV-APP-07.corp.example.com", {"EventID": 3, "Image": "C:\\Windows\\System32\\svchost.exe", "User": "NT AUTHORITY\\NETWORK SERVICE",
        "Protocol": "tcp", "Initiated": "true", "SourceIp": "10.20.4.17", "SourcePort": "52814",
        "DestinationIp": "10.20.0.10", "DestinationHostname": "dc01.corp.example.com", "DestinationPort": "135",
        "DestinationPortName": "epmap"}),
    ("xml", "C11", "SRV-APP-07.corp.example.com", {}),
    ("xml", "B11", "SRV-APP-07.corp.example.com", {}),
    ("xml", "C12", "SRV-APP-07.corp.example.com", {}),
    ("xml", None, "SRV-FS-02.corp.example.com", {"EventID": 4688, "NewProcessName": "C:\\Windows\\System32\\svchost.exe",
        "ParentProcessName": "C:\\Windows\\System32\\services.exe", "CommandLine": "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s BITS",
        "SubjectUserName": "SRV-FS-02$", "SubjectDomainName": "CORP", "TargetUserName": "-"}),
    ("xml", "A14", "SRV-FS-02.corp.example.com", {}),
    ("xml", "B27", "SRV-FS-02.corp.example.com", {}),
    # --- events.jsonl (receiver map / array bodies) ---
    ("map", None, "WS-HR-114.corp.example.com", {"EventID": 1, "Image": "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
        "ParentImage": "C:\\Windows\\explorer.exe", "CommandLine": "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\"",
        "ParentCommandLine": "C:\\Windows\\Explorer.EXE", "User": "CORP\\bob"}),
    ("map", "C01", "WS-HR-114.corp.example.com", {}),
    ("array", "A04", "WS-HR-114.corp.example.com", {}),
    ("map", "C04", "WS-HR-114.corp.example.com", {}),
    ("map", None, "WS-HR-114.corp.example.com", {"EventID": 4634, "TargetUserName": "bob", "TargetDomainName": "CORP",
        "TargetLogonId": "0x51a3f0", "LogonType": "2"}),
    ("map", "A01", "SRV-SQL-03.corp.example.com", {}),
    ("array", "B03", "SRV-SQL-03.corp.example.com", {}),
    ("map", "C23", "SRV-SQL-03.corp.example.com", {}),
    ("map", "C16", "SRV-SQL-03.corp.example.com", {}),
    ("map", "A11", "WS-IT-005.corp.example.com", {}),
    ("array", "B23", "WS-IT-005.corp.example.com", {}),
    ("map", None, "WS-IT-005.corp.example.com", {"EventID": 1, "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "ParentImage": "C:\\Windows\\explorer.exe", "CommandLine": "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoLogo",
        "ParentCommandLine": "C:\\Windows\\Explorer.EXE", "User": "CORP\\adm-jane"}),
    ("map", "B06", "SRV-SQL-03.corp.example.com", {}),
]


def load_catalogue():
    out = {}
    with open(CATALOGUE, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            out[rec["id"]] = rec["event"]
    return out


def base_name(path):
    return path.replace("/", "\\").rsplit("\\", 1)[-1].strip('" ')


def complete(ev, n, host):
    """Add the fields a real Sysmon 1 or Security 4688 record carries."""
    ev = dict(ev)
    eid = ev["EventID"]
    guid = "{4f2c8d10-%04x-6745-%04x-00000000%04x}" % (0x6A00 + n, 0x1100 + n, 0x0A00 + n)
    pguid = "{4f2c8d10-%04x-6745-%04x-00000000%04x}" % (0x6900 + n, 0x1000 + n, 0x0900 + n)
    pid, ppid = 4000 + 37 * n, 900 + 11 * n
    if eid == 1:
        full = {"RuleName": "-", "UtcTime": "2026-11-27 09:%02d:%02d.%03d" % (10 + n // 60, n % 60, 17 * n % 1000),
                "ProcessGuid": guid, "ProcessId": str(pid), "Image": ev.get("Image", ""),
                "FileVersion": "-", "Description": "-", "Product": "-", "Company": "-",
                "OriginalFileName": base_name(ev.get("Image", "")).upper(),
                "CommandLine": ev.get("CommandLine", ""), "CurrentDirectory": "C:\\Windows\\system32\\",
                "User": ev.get("User", ""), "LogonGuid": "{4f2c8d10-0000-6745-e703-000000000000}",
                "LogonId": "0x%x" % (0x3E7A21 + 4099 * n), "TerminalSessionId": "1", "IntegrityLevel": "High",
                "Hashes": "SHA256=" + hashlib.sha256(("%s|%d" % (ev.get("Image", ""), n)).encode()).hexdigest().upper(), "ParentProcessGuid": pguid,
                "ParentProcessId": str(ppid), "ParentImage": ev.get("ParentImage", ""),
                "ParentCommandLine": ev.get("ParentCommandLine", ""), "ParentUser": ev.get("User", "")}
        full.update({k: v for k, v in ev.items() if k != "EventID"})
        return full
    if eid == 4688:
        domain = host.split(".")[1].upper() if "." in host else "CORP"
        full = {"SubjectUserSid": "S-1-5-21-3623811015-3361044348-30300820-1013",
                "SubjectUserName": ev.get("SubjectUserName", "adm-jane"), "SubjectDomainName": domain,
                "SubjectLogonId": "0x3e7", "NewProcessId": "0x%x" % pid,
                "NewProcessName": ev.get("NewProcessName", ""), "TokenElevationType": "%%1936",
                "ProcessId": "0x%x" % ppid, "CommandLine": ev.get("CommandLine", ""),
                "TargetUserSid": "S-1-0-0", "TargetUserName": "-", "TargetDomainName": "-",
                "TargetLogonId": "0x0", "ParentProcessName": ev.get("ParentProcessName", ""),
                "MandatoryLabel": "S-1-16-12288"}
        full.update({k: v for k, v in ev.items() if k != "EventID"})
        return full
    return {k: v for k, v in ev.items() if k != "EventID"}


def source_of(eid):
    return SYSMON if eid in (1, 3) else SECURITY


def task_of(eid):
    return {1: "1", 3: "3", 4624: "12544", 4634: "12545", 4688: "13312"}.get(eid, "0")


def xml_value(v):
    return escape(str(v), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;"})


def raw_xml(eid, data, n, host):
    prov, guid, chan = source_of(eid)
    sec = '<Security UserID="S-1-5-18"/>' if chan != "Security" else "<Security/>"
    keywords = "0x8000000000000000" if chan != "Security" else "0x8020000000000000"
    fields = "".join('<Data Name="%s">%s</Data>' % (k, xml_value(v)) for k, v in data.items())
    return ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
            '<Provider Name="%s" Guid="%s"/><EventID>%d</EventID><Version>%d</Version><Level>4</Level>'
            '<Task>%s</Task><Opcode>0</Opcode><Keywords>%s</Keywords>'
            '<TimeCreated SystemTime="2026-11-27T09:%02d:%02d.%03d0000Z"/><EventRecordID>%d</EventRecordID>'
            '<Correlation/><Execution ProcessID="%d" ThreadID="%d"/><Channel>%s</Channel>'
            '<Computer>%s</Computer>%s</System><EventData>%s</EventData></Event>') % (
        prov, guid, eid, 5 if eid == 1 else 2, task_of(eid), keywords, 10 + n // 60, n % 60, 17 * n % 1000,
        RECORD_ID_BASE + n, 3520 if chan != "Security" else 4, 4156 if chan != "Security" else 7280, chan, host, sec, fields)


def receiver_body(eid, data, n, host, array):
    prov, guid, chan = source_of(eid)
    body = {
        "event_id": {"id": eid, "qualifiers": 0},
        "provider": {"name": prov, "guid": guid, "event_source": ""},
        "system_time": "2026-11-27T09:%02d:%02d.%03d000000Z" % (10 + n // 60, n % 60, 17 * n % 1000),
        "computer": host,
        "channel": chan,
        "record_id": RECORD_ID_BASE + n,
        "level": "4",
        "task": task_of(eid),
        "opcode": "0",
        "keywords": ["0x8000000000000000"] if chan != "Security" else ["0x8020000000000000"],
        "message": "",
        "version": 5 if eid == 1 else 2,
        "execution": {"process_id": 3520 if chan != "Security" else 4, "thread_id": 4156 if chan != "Security" else 7280},
    }
    if array:
        body["event_data"] = {"data": [{k: str(v)} for k, v in data.items()]}
    else:
        body["event_data"] = {k: str(v) for k, v in data.items()}
    if chan != "Security":
        body["security"] = {"user_id": "S-1-5-18"}
    return body


def main():
    cat = load_catalogue()
    os.makedirs(OUT, exist_ok=True)
    with open(CATALOGUE_EXPECTED, encoding="utf-8") as f:
        cat_expected = json.load(f)
    xml_lines, json_lines = [], []
    expected = {}  # record id -> DetectionPattern of the extended profile, or "none"
    for n, (kind, cid, host, overrides) in enumerate(SAMPLE):
        ev = dict(cat[cid]) if cid else {}
        ev.update(overrides)
        eid = ev["EventID"]
        data = complete(ev, n, host)
        expected[str(RECORD_ID_BASE + n)] = cat_expected[cid]["extended"] if cid else "none"
        if kind == "xml":
            xml_lines.append(raw_xml(eid, data, n, host))
        else:
            json_lines.append(json.dumps(receiver_body(eid, data, n, host, kind == "array")))
    with open(os.path.join(OUT, "events.xml"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(xml_lines) + "\n")
    with open(os.path.join(OUT, "events.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(json_lines) + "\n")
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %d XML and %d JSON events to %s" % (len(xml_lines), len(json_lines), os.path.relpath(OUT, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
