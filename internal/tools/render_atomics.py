#!/usr/bin/env python3
"""Write testdata/atomics/: every Atomic Red Team test for Windows whose
command holds one of the source or dual-use tokens (or a COM call that names
a server), as the process creation its executor starts, Sysmon 1 and
Security 4688, in the receivers' body shapes (render_catalogue.py).

Usage: render_atomics.py <atomic-red-team clone (a checkout or a bare git directory)>
Input arguments take their defaults; the powershell executor runs
"powershell.exe" & {<command>} with its double quotes escaped, the
command_prompt executor "cmd.exe" /c <command> (invoke-atomicredteam's
Invoke-ExecuteCommand, approximately). atomics.jsonl keeps each test's
technique, guid and name, and the checkout's commit.
"""
import os, re, subprocess, sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import render_catalogue as rc  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "testdata", "atomics")
rc.DOMAIN = "atomics.test"
TOKENS = re.compile(r"(?i)MMC20|49B2791A|9BA05972|C08AFD90|ExecuteShellCommand|Document\.Application\.ShellExecute|"
                    r"DDEInitiate|RegisterXLL|ActivateMicrosoftApp|ExecuteExcel4Macro|GetTypeFromProgID|GetTypeFromCLSID|"
                    r"Invoke-DCOM|dcomexec|CreateObject|ActiveXObject")
POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
CMD = "C:\\Windows\\System32\\cmd.exe"


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True).stdout


def tests(repo):
    names = [n for n in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "atomics").split("\n")
             if re.fullmatch(r"atomics/T[0-9.]+/T[0-9.]+\.yaml", n)]
    for name in sorted(names):
        doc = yaml.safe_load(git(repo, "show", "HEAD:" + name))
        for t in doc.get("atomic_tests") or []:
            ex = t.get("executor") or {}
            cmd = ex.get("command") or ""
            if "windows" not in t.get("supported_platforms", []) or not TOKENS.search(cmd):
                continue
            if ex.get("name") not in ("powershell", "command_prompt"):
                continue
            for k, v in (t.get("input_arguments") or {}).items():
                cmd = cmd.replace("#{%s}" % k, str(v.get("default", "")))
            yield doc["attack_technique"], t, ex["name"], cmd.strip()


def main():
    repo = sys.argv[1]
    commit = git(repo, "rev-parse", "HEAD").strip()
    cases = []
    for technique, t, executor, cmd in tests(repo):
        if executor == "powershell":
            image, line = POWERSHELL, '"powershell.exe" & {' + cmd.replace('"', '\\""') + "}"
        else:
            image, line = CMD, '"cmd.exe" /c ' + cmd
        cases.append((technique, t, image, line))
    os.makedirs(OUT, exist_ok=True)
    recs = []
    for kind in (1, 4688):
        for technique, t, image, line in cases:
            ident = "ART%02d" % (len(recs) + 1)
            if kind == 1:
                ev = {"EventID": 1, "Image": image, "ParentImage": POWERSHELL, "CommandLine": line,
                      "ParentCommandLine": "powershell.exe -NoProfile", "User": "CORP\\alice"}
            else:
                ev = {"EventID": 4688, "NewProcessName": image, "ParentProcessName": POWERSHELL, "CommandLine": line,
                      "SubjectUserName": "alice", "SubjectDomainName": "CORP", "TargetUserName": "-", "TargetDomainName": "-"}
            recs.append({"id": ident, "event": ev, "technique": technique, "guid": t["auto_generated_guid"],
                         "name": t["name"], "atomic_red_team_commit": commit})
    rc.render(recs, OUT, "atomics.jsonl")


if __name__ == "__main__":
    sys.exit(main())
