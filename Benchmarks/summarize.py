#!/usr/bin/env python3
"""Summarizes a `swift package benchmark --no-progress` text report: one row per benchmark and
metric, with its p50 (the figures docs/Benchmarks.md quotes). A metric whose name ends in "(K)" or
"(M)" is printed by package-benchmark in thousands or millions.

Usage: swift package --disable-sandbox benchmark --no-progress | tee run.txt
       python3 Benchmarks/summarize.py run.txt

`parse` is also what Benchmarks/performance.py reads the reports with.
"""
import re
import sys


def parse(text):
    """The report's benchmarks in order, as (suite, benchmark, {metric: p50 as printed})."""
    lines = text.splitlines()
    suite, rows = None, []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if re.fullmatch(r"=+", following) and line and not line.startswith("="):
            suite = line.strip()
        elif following.startswith("╒"):
            rows.append((suite, line.strip(), {}))
        elif line.startswith("│") and rows and "Metric" not in line:
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            metric = re.sub(r"\s*\*$", "", cells[0])
            rows[-1][2][metric] = cells[3]  # p50
    return rows


if __name__ == "__main__":
    print("| suite | benchmark | metric | p50 |")
    print("| --- | --- | --- | ---: |")
    for suite, name, values in parse(open(sys.argv[1], encoding="utf-8").read()):
        for metric, value in values.items():
            print(f"| {suite} | {name} | {metric} | {value} |")
