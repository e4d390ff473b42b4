#!/usr/bin/env python3
"""Render SigmaHQ's regression tests of process_creation rules into
testdata/sigmahq/. Output is committed; tests read the output.

usage: render_sigmahq.py <SigmaHQ/sigma checkout> [commit]

For every regression_data/rules/windows/process_creation/<rule>/info.yml: the
rule (copied unmodified into rules/), and each event of its recorded sample,
rendered from the .evtx by evtxexport -f xml (Debian libevtx-utils) into the
two bodies the windowseventlog receiver produces: the raw event XML on one
line (events.xml) and the map (map.jsonl). Each event's computer name is
replaced by <case>-<n>.sigmahq.test so that a test can tell the records apart
after a pipeline (process_creation rules do not read the computer).
cases.json lists each case: its rule's id, title and file, the events, and
the match count the test expects (match_count, or every event when unset).
"""
import glob, json, os, re, shutil, subprocess, sys
import xml.etree.ElementTree as ET

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "testdata", "sigmahq")
NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"


def events_of(evtx):
    out = subprocess.run(["evtxexport", "-f", "xml", evtx], check=True, capture_output=True, text=True).stdout
    return re.findall(r"<Event .*?</Event>", out, re.S)


def compact(xml):
    return re.sub(r">\n\s*<", "><", xml.strip())


def receiver_map(xml):
    root = ET.fromstring(xml)
    sys_ = root.find(NS + "System")
    prov = sys_.find(NS + "Provider")
    tc = sys_.find(NS + "TimeCreated")
    body = {
        "event_id": {"id": int(sys_.find(NS + "EventID").text), "qualifiers": 0},
        "provider": {"name": prov.get("Name"), "guid": prov.get("Guid", ""), "event_source": ""},
        "system_time": tc.get("SystemTime") if tc is not None else "",
        "computer": sys_.find(NS + "Computer").text,
        "channel": sys_.find(NS + "Channel").text,
        "record_id": int(sys_.find(NS + "EventRecordID").text),
        "level": sys_.find(NS + "Level").text,
        "task": sys_.find(NS + "Task").text,
        "opcode": sys_.find(NS + "Opcode").text,
        "keywords": [sys_.find(NS + "Keywords").text],
        "message": "",
        "version": int(sys_.find(NS + "Version").text),
    }
    sec = sys_.find(NS + "Security")
    if sec is not None and sec.get("UserID"):
        body["security"] = {"user_id": sec.get("UserID")}
    body["event_data"] = {d.get("Name"): d.text or "" for d in root.find(NS + "EventData").findall(NS + "Data")}
    return body


def main():
    src = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else ""
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "rules"))
    by_id = {}
    for path in glob.glob(os.path.join(src, "rules*", "**", "*.yml"), recursive=True):
        m = re.search(r"^id: *([0-9a-fA-F-]{36})", open(path, encoding="utf-8").read(), re.M)
        if m:
            by_id[m.group(1)] = path
    cases, xml_lines, map_lines = [], [], []
    infos = sorted(glob.glob(os.path.join(src, "regression_data/rules/windows/process_creation/*/info.yml")))
    for n, info_path in enumerate(infos):
        info = yaml.safe_load(open(info_path))
        name = os.path.basename(os.path.dirname(info_path))
        case = "c%03d" % n
        rule_id = info["rule_metadata"][0]["id"]
        rule_src = by_id[rule_id]  # by id: a rule may have been renamed since its test was recorded
        rule_name = os.path.basename(rule_src)
        shutil.copy(rule_src, os.path.join(OUT, "rules", rule_name))
        test = info["regression_tests_info"][0]
        events = events_of(os.path.join(src, test["path"]))
        for i, ev in enumerate(events):
            host = "%s-%d.sigmahq.test" % (case, i)
            ev = re.sub(r"<Computer>.*?</Computer>", "<Computer>%s</Computer>" % host, compact(ev))
            xml_lines.append(ev)
            map_lines.append(json.dumps(receiver_map(ev), ensure_ascii=False))
        cases.append({
            "case": case, "name": name, "rule_id": info["rule_metadata"][0]["id"],
            "title": info["rule_metadata"][0].get("title", ""), "rule": "rules/" + rule_name,
            "events": len(events), "match_count": test.get("match_count") or len(events),
        })
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"source": "https://github.com/SigmaHQ/sigma", "commit": commit, "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(OUT, "events.xml"), "w") as f:
        f.write("\n".join(xml_lines) + "\n")
    with open(os.path.join(OUT, "map.jsonl"), "w") as f:
        f.write("\n".join(map_lines) + "\n")
    print(len(cases), "cases,", len(xml_lines), "events")


main()
