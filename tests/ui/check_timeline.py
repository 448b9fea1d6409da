#!/usr/bin/env python3
"""Check the structure of a --timeline SVG.

  check_timeline.py SVG REPORT [--critical a,b,d] [--in-bar a] [--rows N]
                    [--merged]

Always: the root is SVG; a legend with a key per status (ok, failed,
timeout, cancelled, error) and the critical path, each status key the
colour its bars have; the time axis at a round step (0.1/0.2/0.5 x 10^k
seconds, or whole minutes past two minutes), starting at 0 and covering
the run; every bar a <g class="bar..."> with a <title> that names its job
(or, for merged bars, how many attempts); every attempt of the report in
some bar.
--critical: exactly these jobs' bars are outlined as the critical path,
            with a dashed link between each pair.
--in-bar:   these names are written inside (or beside) their bars.
--rows:     this many row labels (slots), and a note when rows were capped.
--merged:   some bars are merged, and a note says so."""
import argparse
import json
import math
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
STATUSES = ["ok", "failed", "timeout", "cancelled", "error"]


def classes(e):
    return (e.get("class") or "").split()


def tick_value(label):
    if label == "0":
        return 0.0
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", label)
    if not m or not any(m.groups()):
        raise ValueError(label)
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("svg")
    ap.add_argument("report")
    ap.add_argument("--critical", default="")
    ap.add_argument("--in-bar", default="")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--merged", action="store_true")
    a = ap.parse_args()
    bad = []
    root = ET.parse(a.svg).getroot()
    report = json.load(open(a.report))
    if root.tag != NS + "svg":
        bad.append("the root is not <svg>")

    # The legend: a key and a label per status, and the critical path's.
    keys = [e for e in root.iter(NS + "rect") if "key" in classes(e)]
    labels = [e.text for e in root.iter(NS + "text") if "legend" in classes(e)]
    key_fill = {}
    for k, label in zip(keys, labels):
        key_fill[label] = k.get("fill")
    for st in STATUSES + ["critical path"]:
        if st not in key_fill:
            bad.append("the legend has no key for %s" % st)
    crit_keys = [k for k in keys if "critical" in classes(k)]
    if len(crit_keys) != 1 or not crit_keys[0].get("stroke"):
        bad.append("the legend's critical-path key is not an outline")

    # Bars: each a <g> with a title; plain bars name a job and its status.
    bars = [g for g in root.iter(NS + "g") if "bar" in classes(g)]
    if len(bars) != len(list(root.iter(NS + "g"))):
        bad.append("a <g> that is not a bar")
    seen = {}
    for g in bars:
        title = g.find(NS + "title")
        rect = g.find(NS + "rect")
        if title is None or rect is None:
            bad.append("a bar without a title or a rect")
            continue
        if "merged" in classes(g):
            m = re.match(r"(\d+) attempts, all ([a-z]+), from ", title.text)
            if not m:
                bad.append("merged bar title: %s" % title.text)
            continue
        m = re.match(r"(\S+) \(attempt (\d+)\): ([a-z]+), [0-9.]+s, from [0-9.]+s", title.text)
        if not m:
            bad.append("bar title: %s" % title.text)
            continue
        name, attempt, status = m.group(1), int(m.group(2)), m.group(3)
        seen[(name, attempt)] = (g, status)
        if status in key_fill and rect.get("fill") != key_fill[status]:
            bad.append("bar of %s is %s, its legend key %s" % (name, rect.get("fill"), key_fill[status]))
    merged = [g for g in bars if "merged" in classes(g)]
    if not merged:
        for j in report["jobs"]:
            for at in range(1, (j["attempts"] or 0) + 1):
                if j["status"] != "skipped" and (j["name"], at) not in seen:
                    bad.append("no bar for %s attempt %d" % (j["name"], at))

    # The critical path: exactly the jobs named, outlined, linked.
    if a.critical:
        want = set(a.critical.split(","))
        crit = [g for g in bars if "critical" in classes(g)]
        got = set()
        for g in crit:
            got.add(g.find(NS + "title").text.split(" (attempt")[0])
            if not g.find(NS + "rect").get("stroke"):
                bad.append("a critical bar without an outline")
        if got != want:
            bad.append("critical path %s, expected %s" % (sorted(got), sorted(want)))
        links = [e for e in root.iter(NS + "line") if "critical-link" in classes(e)]
        if len(links) != len(want) - 1:
            bad.append("%d critical-path links for %d jobs" % (len(links), len(want)))
        print("timeline: critical path %s" % " <- ".join(
            g.find(NS + "title").text.split(" (attempt")[0] for g in reversed(crit)))

    # Names inside or beside their bars.
    for name in filter(None, a.in_bar.split(",")):
        found = any(t.text == name for (n, _), (g, _) in seen.items() if n == name
                    for t in g.iter(NS + "text") if "name" in classes(t))
        if not found:
            bad.append("the name %s is not written at its bar" % name)

    # The axis: round steps from 0 over the whole run.
    ticks = [e.text for e in root.iter(NS + "text") if "tick" in classes(e)]
    try:
        vals = [tick_value(t) for t in ticks]
    except ValueError as e:
        vals = []
        bad.append("tick label %s" % e)
    total = report["duration_s"]
    if vals:
        step = vals[1] - vals[0] if len(vals) > 1 else total
        mant = step / 10 ** math.floor(math.log10(step))
        round_step = any(abs(mant - m) < 1e-6 for m in (1, 2, 5)) or step in (15, 30)
        if total > 120:
            round_step = step % 30 == 0
        if vals[0] != 0 or not round_step:
            bad.append("ticks %s are not at a round step" % ticks)
        if any(abs((v - w) - step) > 1e-6 for v, w in zip(vals[1:], vals)):
            bad.append("ticks %s are not evenly spaced" % ticks)
        if not (4 <= len(vals) <= 11) or vals[-1] + step <= total * 0.99:
            bad.append("ticks %s do not span the run (%.3fs)" % (ticks, total))
        print("timeline: ticks %s" % " ".join(ticks))

    rows = [e.text for e in root.iter(NS + "text") if "slot" in classes(e)]
    notes = [e.text for e in root.iter(NS + "text") if "note" in classes(e)]
    if a.rows is not None and len(rows) != a.rows:
        bad.append("%d row labels, expected %d" % (len(rows), a.rows))
    if a.rows is not None and any(r.startswith("slots ") for r in rows) and \
            not any("slots drawn as" in n for n in notes):
        bad.append("rows hold several slots and no note says so")
    if a.merged:
        if not merged:
            bad.append("no merged bars")
        if not any("merged" in n for n in notes):
            bad.append("no note about merged attempts")
    elif merged:
        bad.append("bars merged in a small run")
    print("timeline: %d bars (%d merged), %d rows, notes: %s" % (len(bars), len(merged), len(rows), notes))
    for b in bad:
        print("timeline: " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
