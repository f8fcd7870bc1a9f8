#!/usr/bin/env python3
"""The request bench's criterion results as a Markdown table (for
results/request.md and the README): mean time per request and, like the
HTTP runs, each case's rate as a share of the baseline's.

    criterion_table.py $CARGO_TARGET_DIR/criterion request
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1]) / sys.argv[2]
rows = []
for bench in sorted(root.glob("*/new/benchmark.json")):
    meta = json.loads(bench.read_text())
    estimates = json.loads((bench.parent / "estimates.json").read_text())
    rows.append((meta["function_id"], estimates["mean"]["point_estimate"]))
if not rows:
    sys.exit(f"no criterion results under {root}")
baseline = next((ns for name, ns in rows if name.startswith("baseline")), None)
if baseline is None:
    sys.exit("no baseline case")
rows.sort(key=lambda row: row[1])
print("| request (in process, criterion) | time | rate vs. baseline |")
print("|---|---:|---:|")
for name, ns in rows:
    print(f"| {name} | {ns / 1000:.1f} µs | {baseline / ns:.2f}× |")
