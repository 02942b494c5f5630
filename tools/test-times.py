#!/usr/bin/env python3
"""Per test class times from a TRX (dotnet test --logger trx), optionally against a baseline TRX.

Usage: tools/test-times.py RESULTS.trx [BASELINE.trx] [--all]

For each class: tests, the sum of its test durations (what the class costs serially), and its span (first test
start to last test end: with parallel collections the span includes waiting for a thread and fixture set-up
between tests). The last lines give the run's wall time (TRX <Times start/finish>) and the sum over all tests.
Without --all only classes over 1 s in either run are listed.
"""
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def seconds(duration):
    h, m, s = duration.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def stamp(text):
    # 2026-11-30T08:12:13.6345229+00:00: Python wants at most 6 fraction digits
    head, _, rest = text.partition(".")
    frac, tz = rest[:-6], rest[-6:]
    return datetime.fromisoformat(f"{head}.{frac[:6]}{tz}") if rest else datetime.fromisoformat(text)


def load(path):
    root = ET.parse(path).getroot()
    classes = {}
    for test in root.iterfind(".//t:UnitTest", NS):
        method = test.find("t:TestMethod", NS)
        classes[test.get("id")] = method.get("className").rsplit(".", 1)[-1]
    per = defaultdict(lambda: {"n": 0, "sum": 0.0, "start": None, "end": None, "failed": 0})
    for result in root.iterfind(".//t:UnitTestResult", NS):
        c = per[classes.get(result.get("testId"), "?")]
        c["n"] += 1
        c["sum"] += seconds(result.get("duration", "0:0:0"))
        if result.get("outcome") not in ("Passed", "NotExecuted"):
            c["failed"] += 1
        if result.get("startTime"):
            s, e = stamp(result.get("startTime")), stamp(result.get("endTime"))
            c["start"] = s if c["start"] is None else min(c["start"], s)
            c["end"] = e if c["end"] is None else max(c["end"], e)
    times = root.find("t:Times", NS)
    wall = (stamp(times.get("finish")) - stamp(times.get("start"))).total_seconds()
    return per, wall


def span(c):
    return (c["end"] - c["start"]).total_seconds() if c["start"] else 0.0


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    show_all = "--all" in argv
    if not args:
        print(__doc__)
        return 2
    now, wall = load(args[0])
    base, base_wall = load(args[1]) if len(args) > 1 else ({}, None)
    names = sorted(set(now) | set(base), key=lambda n: -max(now.get(n, {"sum": 0})["sum"], base.get(n, {"sum": 0})["sum"]))
    if base:
        print(f"{'class':32} {'tests':>5} {'before s':>9} {'after s':>9} {'span s':>8}  failed")
    else:
        print(f"{'class':32} {'tests':>5} {'sum s':>9} {'span s':>8}  failed")
    for name in names:
        c = now.get(name)
        b = base.get(name)
        if not show_all and max(c["sum"] if c else 0, b["sum"] if b else 0) < 1:
            continue
        n = c["n"] if c else 0
        after = f"{c['sum']:9.1f}" if c else f"{'-':>9}"
        sp = f"{span(c):8.1f}" if c else f"{'-':>8}"
        failed = str(c["failed"]) if c and c["failed"] else ""
        if base:
            before = f"{b['sum']:9.1f}" if b else f"{'-':>9}"
            print(f"{name:32} {n:5} {before} {after} {sp}  {failed}")
        else:
            print(f"{name:32} {n:5} {after} {sp}  {failed}")
    total = sum(c["sum"] for c in now.values())
    count = sum(c["n"] for c in now.values())
    if base:
        btotal = sum(c["sum"] for c in base.values())
        bcount = sum(c["n"] for c in base.values())
        print(f"{'all tests (sum)':32} {count:5} {btotal:9.1f} {total:9.1f}   (before: {bcount} tests)")
        print(f"{'dotnet test wall (TRX times)':32} {'':5} {base_wall:9.1f} {wall:9.1f}")
    else:
        print(f"{'all tests (sum)':32} {count:5} {total:9.1f}")
        print(f"{'dotnet test wall (TRX times)':32} {'':5} {wall:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
