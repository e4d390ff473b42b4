#!/usr/bin/env python3
"""Render testdata/catalogue/catalogue.jsonl (flat Windows fields) into the body
shapes the real receivers produce. Output is committed; tests read the output.

Each event's computer name carries its catalogue id (A01.catalogue.test) so a
test can tell the records apart after they crossed a pipeline.
"""
import json, os, sys
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "testdata", "catalogue")

SYSMON = ("Microsoft-Windows-Sysmon", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "Microsoft-Windows-Sysmon/Operational")
SECURITY = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}", "Security")
# DOMAIN ends each event's computer name; render_dualuse.py sets its own.
DOMAIN = "catalogue.test"
SYSTEM_KG = ("Microsoft-Windows-Kernel-General", "{A68CA8B7-004F-D7B6-A698-07E2DE0F1F5D}", "System")


def source_of(ev):
    if ev.get("Channel") == "System":
        return SYSTEM_KG
    return SYSMON if ev["EventID"] == 1 else SECURITY


def data_fields(ev):
    return [(k, v) for k, v in ev.items() if k not in ("EventID", "Channel", "Provider")]


def xml_value(v):
    # The receiver's raw XML: &, <, >, " escaped and line breaks as character references.
    return escape(str(v), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;"})


def receiver_map(rec, n, array):
    ev = rec["event"]
    prov, guid, chan = source_of(ev)
    fields = data_fields(ev)
    body = {
        "event_id": {"id": ev["EventID"], "qualifiers": 0},
        "provider": {"name": prov, "guid": guid, "event_source": ""},
        "system_time": "2026-11-27T10:00:%02d.000000000Z" % (n % 60),
        "computer": rec["id"] + "." + DOMAIN,
        "channel": chan,
        "record_id": 1000 + n,
        "level": "4",
        "task": "1" if ev["EventID"] == 1 else "13312",
        "opcode": "0",
        "keywords": ["0x8000000000000000"] if chan != "Security" else ["0x8020000000000000"],
        "message": "",
        "version": 5 if ev["EventID"] == 1 else 2,
    }
    if array:
        body["event_data"] = {"data": [{k: str(v)} for k, v in fields]}
    else:
        body["event_data"] = {k: str(v) for k, v in fields}
    if chan != "Security":
        body["security"] = {"user_id": "S-1-5-18"}
    return body


def raw_xml(rec, n):
    ev = rec["event"]
    prov, guid, chan = source_of(ev)
    sec = "<Security/>" if chan == "Security" else '<Security UserID="S-1-5-18"/>'
    data = "".join('<Data Name="%s">%s</Data>' % (k, xml_value(v)) for k, v in data_fields(ev))
    return ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
            '<Provider Name="%s" Guid="%s"/><EventID>%d</EventID><Version>5</Version><Level>4</Level>'
            '<Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>'
            '<TimeCreated SystemTime="2026-11-27T10:00:%02d.000000000Z"/><EventRecordID>%d</EventRecordID>'
            '<Correlation/><Execution ProcessID="3520" ThreadID="4156"/><Channel>%s</Channel>'
            '<Computer>%s.%s</Computer>%s</System><EventData>%s</EventData></Event>') % (
        prov, guid, ev["EventID"], n % 60, 1000 + n, chan, rec["id"], DOMAIN, sec, data)


def flat(rec):
    # NXLog / Sumo installed collector style: Windows names at the top level.
    ev = rec["event"]
    prov, _, chan = source_of(ev)
    out = {"EventID": ev["EventID"], "Channel": chan, "SourceName": prov, "Hostname": rec["id"] + "." + DOMAIN}
    out.update({k: v for k, v in data_fields(ev)})
    return out


def winlogbeat(rec):
    ev = rec["event"]
    prov, _, chan = source_of(ev)
    return {"@timestamp": "2026-11-27T10:00:00.000Z", "winlog": {
        "event_id": str(ev["EventID"]), "channel": chan, "provider_name": prov,
        "computer_name": rec["id"] + "." + DOMAIN,
        "event_data": {k: str(v) for k, v in data_fields(ev)}}}


def render(recs, out, source=None):
    """Write recs into out/{map,array,flat,winlogbeat}.jsonl and out/events.xml,
    and the records themselves into out/<source> when it is given."""
    if source:
        with open(os.path.join(out, source), "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
    outs = {
        "map.jsonl": lambda r, n: json.dumps(receiver_map(r, n, False)),
        "array.jsonl": lambda r, n: json.dumps(receiver_map(r, n, True)),
        "events.xml": raw_xml,
        "flat.jsonl": lambda r, n: json.dumps(flat(r)),
        "winlogbeat.jsonl": lambda r, n: json.dumps(winlogbeat(r)),
    }
    for name, fn in outs.items():
        with open(os.path.join(out, name), "w") as f:
            for n, r in enumerate(recs):
                f.write(fn(r, n) + "\n")
    print("rendered %d events into %s" % (len(recs), ", ".join(outs)))


def main():
    render([json.loads(l) for l in open(os.path.join(OUT, "catalogue.jsonl"))], OUT)


if __name__ == "__main__":
    sys.exit(main())
