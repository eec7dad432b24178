#!/usr/bin/python3
"""Checks deploy/<daemon>/grafana-dashboard.json: valid JSON with the Grafana fields used,
every panel query valid PromQL (promtool check rules on the queries as recording rules),
and every metric a query names registered by that daemon's source (metrics.cpp and the
library), so a renamed metric cannot leave a dashboard silently empty.
Usage: check_dashboards.py <repository root>   (exit 77 without promtool)"""
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

root = pathlib.Path(sys.argv[1])
if not shutil.which("promtool"):
    print("SKIP: promtool not installed (Debian package prometheus)")
    sys.exit(77)
sources = {  # where each daemon's metric names are registered
    "bng": ["apps/bng"],
    "nexus": ["apps/nexus", "libnexus/src"],
    "udp-fanout": ["apps/udp-fanout", "libfanout/src"],
}
failures = []
for daemon, dirs in sources.items():
    path = root / "deploy" / daemon / "grafana-dashboard.json"
    board = json.loads(path.read_text())
    registered = set()
    for d in dirs:
        for f in (root / d).rglob("*.cpp"):
            registered |= set(re.findall(r'Name\("([a-z_:]+)"\)', f.read_text()))
    prefix = daemon.replace("-", "_") + "_"
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    exprs += [board["templating"]["list"][1]["query"]["query"].replace("label_values(", "").split(",")[0]]
    for e in exprs:
        for name in set(re.findall(r"\b(%s[a-z_]+)" % prefix, e)):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in registered and base not in registered:
                failures.append(f"{path}: {name} is not a metric {daemon} registers")
    for p in board["panels"]:
        if not p.get("title") or not p.get("targets") or "gridPos" not in p:
            failures.append(f"{path}: panel {p.get('id')} lacks title, targets or gridPos")
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as rules:
        rules.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, e in enumerate(exprs):
            rules.write(f"      - record: dashboard:q{i}\n        expr: {json.dumps(e.replace('$instance', '.*'))}\n")
        rules.flush()
        r = subprocess.run(["promtool", "check", "rules", rules.name], capture_output=True, text=True)
        if r.returncode != 0:
            failures.append(f"{path}: promtool: {r.stdout}{r.stderr}")
    print(f"{path}: {len(board['panels'])} panels, {len(exprs)} queries checked")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
