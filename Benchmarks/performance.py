#!/usr/bin/env python3
"""Writes docs/Performance.md (and the scale charts, docs/images/scale-*.svg) from the raw reports
that Benchmarks/run-all keeps under Benchmarks/.runs/<run>/: one `<Suite>.txt` per benchmark suite
(package-benchmark's text output) and `peers.md` (the stdout of Benchmarks/Peers/run).

Each suite is read from the latest run that has it, so a run of a few suites refreshes their
sections and keeps the others. Ratios are taken within one run wherever the reference was measured
in it (the floor, one token-bucket decision, the bare call); a reference from another run is named
as such. A suite with no report yet is written as not measured rather than failing the page.

Usage: python3 Benchmarks/performance.py [--runs DIR] [--output FILE] [--images DIR]
"""
import argparse
import datetime
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from performance_charts import scale_chart  # noqa: E402
from summarize import parse  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TIME_UNITS = {"ns": 1, "μs": 1e3, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
COUNT_UNITS = {"#": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
UNIT = re.compile(r"\s*\((" + "|".join(map(re.escape, [*TIME_UNITS, *COUNT_UNITS])) + r")\)$")
NAMES = {"time (wall clock)": "ns", "malloc (total)": "mallocs"}


class Suite:
    """One suite's report: where it came from and its benchmarks, {name: {metric: p50}}."""

    def __init__(self, name, run, path):
        self.name, self.run, self.path = name, run, path
        self.rows = {}
        for _, benchmark, values in parse(open(path, encoding="utf-8").read()):
            self.rows[benchmark] = dict(metric(key, text) for key, text in values.items())

    def find(self, pattern):
        """The first benchmark whose name is `pattern`, or else matches it as a regular expression."""
        if pattern in self.rows:
            return pattern, self.rows[pattern]
        for name, values in self.rows.items():
            if re.search(pattern, name, re.IGNORECASE):
                return name, values
        return None, None


def metric(name, text):
    """("ns" | "mallocs" | the custom metric's name, its p50 in plain units): package-benchmark
    prints a unit after the name, "(ns)" or "(μs)", or "(K)" and "(M)" for counts."""
    factor, name = 1.0, name.strip()
    while True:
        match = UNIT.search(name)
        if not match:
            break
        factor *= TIME_UNITS.get(match.group(1)) or COUNT_UNITS[match.group(1)]
        name = name[: match.start()]
    try:
        value = float(text.replace(",", "")) * factor
    except ValueError:
        value = None
    return NAMES.get(name.lower(), name), value


def load(runs):
    """{suite: Suite} from the latest run directory that has each suite, and the latest peers.md."""
    suites, peers = {}, None
    for run in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        directory = os.path.join(runs, run)
        for file in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            path = os.path.join(directory, file)
            if file == "peers.md" and os.path.getsize(path) > 0:
                peers = (run, path)
            elif file.endswith(".txt") and os.path.getsize(path) > 0:
                suites[file[:-4]] = Suite(file[:-4], run, path)
    return suites, peers


def number(value, digits=0):
    return "" if value is None else f"{value:,.{digits}f}"


def ratio(value, reference):
    return f"{value / reference:.2f}x" if value is not None and reference else ""


def table(suite, rows=None, columns=()):
    """A markdown table of `rows` (default: all) of `suite`: p50 ns, mallocs, every other metric
    measured, then `columns` as (header, function of (name, values) -> text)."""
    rows = list(suite.rows.items()) if rows is None else rows
    custom = []
    for _, values in rows:
        custom += [key for key in values if key not in ("ns", "mallocs", *custom)]
    has = {key: any(values.get(key) is not None for _, values in rows) for key in ("ns", "mallocs")}
    headers = ["benchmark"] + (["p50 (ns)"] if has["ns"] else []) + (["mallocs"] if has["mallocs"] else [])
    headers += custom + [header for header, _ in columns]
    lines = ["| " + " | ".join(headers) + " |", "| --- |" + " ---: |" * (len(headers) - 1)]
    for name, values in rows:
        cells = [name.replace("|", "\\|")]
        cells += [number(values.get("ns"))] if has["ns"] else []
        cells += [number(values.get("mallocs"))] if has["mallocs"] else []
        cells += [number(values.get(key)) for key in custom] + [function(name, values) for _, function in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def source(*suites):
    return "Raw report: " + ", ".join(f"`Benchmarks/.runs/{s.run}/{s.name}.txt`" for s in suites) + "."


def reference_note(suite, reference, what):
    same = reference.run == suite.run
    return f"{what} from {'this' if same else 'another'} run (`{reference.run}`{'' if same else ', not the same run'})."


class Page:
    def __init__(self, suites, peers, images):
        self.suites, self.peers, self.images, self.lines = suites, peers, images, []

    def section(self, title, *names, intro=None):
        """Starts a section; returns its suites, or None (said on the page) if one has no report."""
        self.lines += ["", f"## {title}", ""]
        missing = [name for name in names if name not in self.suites]
        if missing:
            suites = " and ".join(missing) + (" suites" if len(missing) > 1 else " suite")
            self.lines.append(f"*Not measured in this run* (no report of the {suites} under `Benchmarks/.runs/`).")
            return None
        if intro:
            self.lines += [intro, ""]
        return [self.suites[name] for name in names]

    def floor(self):
        """The floor of a decision: a clock read plus one compare-exchange (the Floor suite)."""
        floor = self.suites.get("Floor")
        if not floor:
            return None, None
        clock, cas = floor.find("ContinuousClock.now")[1], floor.find("Atomic.compareExchange")[1]
        if not clock or not cas or clock.get("ns") is None or cas.get("ns") is None:
            return None, floor
        return clock["ns"] + cas["ns"], floor

    def write_floor(self):
        if not (found := self.section("Floor", "Floor", intro="What no decision can go below, measured in the same run as the limiters.")):
            return
        self.lines += table(found[0])
        value, _ = self.floor()
        if value is not None:
            self.lines += ["", f"The floor of a decision is one clock read plus one compare-exchange: **{value:,.0f} ns**."]
        self.lines += ["", source(found[0])]

    def write_decisions(self):
        names = [name for name in ("TokenBucket", "LimiterAlgorithms") if name in self.suites] or ["TokenBucket", "LimiterAlgorithms"]
        if not (found := self.section("Limiter decisions", *names, intro="Every algorithm's `tryAcquire`, as a ratio to the floor.")):
            return
        floor, floor_suite = self.floor()
        for suite in found:
            self.lines += [f"**{suite.name}**", ""]
            self.lines += table(suite, columns=[("÷ floor", lambda _, v: ratio(v.get("ns"), floor))])
            self.lines += [""] + ([reference_note(suite, floor_suite, "The floor is")] if floor else ["No floor measured: no ratios."])
            self.lines += [source(suite), ""]
        for name in ("TokenBucket", "LimiterAlgorithms"):
            if name not in self.suites:
                self.lines.append(f"*{name}: not measured in this run.*")

    def write_composites(self):
        intro = "Chains, budgets and bulkheads, as a ratio to one token-bucket decision."
        if not (found := self.section("Composites", "Composites", intro=intro)):
            return
        suite = found[0]
        name, values, reference = *suite.find(r"^(Reference: )?(one )?token[- ]bucket,?:? tryAcquire permitted$"), suite
        if values is None and "TokenBucket" in self.suites:
            reference = self.suites["TokenBucket"]
            name, values = reference.find("Token bucket: tryAcquire permitted")
        one = values.get("ns") if values else None
        self.lines += table(suite, columns=[("÷ one token-bucket decision", lambda _, v: ratio(v.get("ns"), one))])
        self.lines.append("")
        if one:
            self.lines.append(f"One token-bucket decision is `{name}`, {one:,.0f} ns; " + reference_note(suite, reference, "it is"))
        else:
            self.lines.append("No token-bucket decision measured (in this suite or the TokenBucket suite): no ratios.")
        self.lines.append(source(suite))

    def write_difference(self, title, name, reference, header, intro):
        """A suite as a table, with each row's difference from its own `reference` row."""
        if not (found := self.section(title, name, intro=intro)):
            return
        suite = found[0]
        base = (suite.find(reference)[1] or {}).get("ns") if reference else None
        column = lambda _, v: number(v["ns"] - base) if base is not None and v.get("ns") is not None else ""  # noqa: E731
        self.lines += table(suite, columns=[(header, column)] if base is not None else [])
        self.lines += ["", source(suite)]

    def write_own_floor(self, title, name, intro, only=None):
        """A suite with its own floor rows ("Floor: clock read + compare-exchange[, N tasks]"): each
        row (or each matching `only`) as a ratio to the floor on as many tasks, else on one."""
        if not (found := self.section(title, name, intro=intro)):
            return
        suite = found[0]
        prefix = "Floor: clock read + compare-exchange"
        floors = {row[len(prefix):]: v.get("ns") for row, v in suite.rows.items() if row.startswith(prefix)}

        def of_floor(row, values):
            if only and not re.search(only, row):
                return ""
            suffix = re.search(r", \d+ tasks?$", row)
            floor = floors.get(suffix.group(0) if suffix else "") or floors.get(", 1 task") or floors.get("")
            return ratio(values.get("ns"), floor)

        self.lines += table(suite, columns=[("÷ floor", of_floor)] if floors else [])
        self.lines += ["", source(suite)]

    def write_redis(self):
        intro = "Decisions through a redis-server the suite starts, against redis-benchmark sending the same EVALSHA (the ceiling)."
        if not (found := self.section("Redis", "Redis", intro=intro)):
            return
        suite = found[0]
        ceilings = {}
        for name, values in suite.rows.items():
            if match := re.search(r"^ceiling:.*?(\d+) connections?$", name):
                ceilings[match.group(1)] = values.get("decisions/s")

        def of_ceiling(name, values):
            if "% of redis-benchmark" in values:
                return f"{values['% of redis-benchmark']:.0f}% (paired)"
            match = re.search(r"(\d+) callers?", name)
            ceiling = ceilings.get(match.group(1)) if match else None
            return f"{100 * values['decisions/s'] / ceiling:.0f}%" if ceiling and values.get("decisions/s") is not None else ""

        self.lines += table(suite, columns=[("of the ceiling", of_ceiling)])
        self.lines += ["", "\"of the ceiling\": decisions per second as a share of redis-benchmark's at as many connections."]
        self.lines.append(source(suite))

    def write_peers(self):
        self.lines += ["", "## Peers", ""]
        if not self.peers:
            self.lines.append("*Not measured in this run* (no `peers.md` under `Benchmarks/.runs/`; `Benchmarks/Peers/run` writes it).")
            return
        run, path = self.peers
        text = open(path, encoding="utf-8").read().strip("\n")
        # Verbatim, its headings one level down so they sit under this section.
        self.lines += [re.sub(r"^(#+) ", r"#\1 ", line) for line in text.splitlines()]
        self.lines += ["", f"Raw output: `Benchmarks/.runs/{run}/peers.md`."]

    def write_scale(self):
        if not (found := self.section("Scale curves", "Scale", intro=SCALE_INTRO)):
            return
        suite = found[0]
        structures = {}
        for name, values in suite.rows.items():
            if match := re.fullmatch(r"Scale: ([^:]+): (.+), n=(\d+)", name):
                series = structures.setdefault(match.group(1), {}).setdefault(match.group(2), [])
                bytes_each, mallocs = values.get("bytes per entry"), values.get("mallocs")
                series.append({"n": int(match.group(3)), "ns": values.get("ns"), "bytes": bytes_each, "mallocs": mallocs})
        for structure, by_series in structures.items():
            series = [{"label": label, "points": sorted(points, key=lambda p: p["n"])} for label, points in by_series.items()]
            series += beyond_the_task(series)
            self.lines += [f"### {structure[0].upper() + structure[1:]}", ""]
            self.lines += ["| series | n | p50 (ns/op) | bytes/entry | mallocs/op |", "| --- | ---: | ---: | ---: | ---: |"]
            for s in series:
                for p in s["points"]:
                    cells = [s["label"], f"{p['n']:,}", number(p["ns"]), number(p["bytes"]), number(p.get("mallocs"))]
                    self.lines.append("| " + " | ".join(cells) + " |")
            slug = re.sub(r"[^a-z0-9]+", "-", structure.lower()).strip("-")
            os.makedirs(self.images, exist_ok=True)
            with open(os.path.join(self.images, f"scale-{slug}.svg"), "w", encoding="utf-8") as file:
                file.write(scale_chart(f"Scale: {structure}", series))
            self.lines += ["", f"![Scale: {structure}, time per operation and bytes per entry against n](images/scale-{slug}.svg)", ""]
        self.lines.append(source(suite))


SCALE_INTRO = (
    "Time per operation (p50, the structure holding n entries; each operation leaves n unchanged) and resident "
    "bytes per entry (resident memory grown while the n entries were built, after `malloc_trim`, ÷ n). A waiting-room "
    "entry is a task suspended in `acquire`; the bare-task baseline is the same number of tasks suspended on a "
    "continuation, so the waiting room's own cost is the difference (the derived rows)."
)


def beyond_the_task(series):
    """The waiting room's cost beyond the task: the acquire waiter minus the bare task, at each n."""
    waiter = next((s for s in series if s["label"].startswith("acquire")), None)
    task = next((s for s in series if s["label"].startswith("bare task")), None)
    if not waiter or not task:
        return []
    by_n = {p["n"]: p for p in task["points"]}
    points = []
    for p in waiter["points"]:
        if (q := by_n.get(p["n"])) is not None:
            difference = {
                key: p[key] - q[key] if p.get(key) is not None and q.get(key) is not None else None for key in ("ns", "bytes", "mallocs")
            }
            points.append({"n": p["n"], **difference})
    return [{"label": "waiter beyond the task (difference)", "points": points, "derived": True}] if points else []


def machine():
    """CPU, cores, memory, OS and Swift of the machine generating the page (the one that ran it)."""
    def first(path, pattern):
        try:
            match = re.search(pattern, open(path, encoding="utf-8").read(), re.MULTILINE)
            return match.group(1).strip() if match else "unknown"
        except OSError:
            return "unknown"

    try:
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True, timeout=60).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        swift = "unknown"
    memory = first("/proc/meminfo", r"^MemTotal:\s+(\d+)")
    memory = f"{int(memory) / 1024 / 1024:.1f} GiB" if memory.isdigit() else memory
    cpu = first("/proc/cpuinfo", r"^model name\s*:\s*(.+)$")
    system = first("/etc/os-release", r'^PRETTY_NAME="?([^"\n]+)')
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores",
        f"- Memory: {memory}",
        f"- OS: {system}, Linux {os.uname().release}",
        f"- Swift: {swift}",
    ]


def main():
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--runs", default=os.path.join(HERE, ".runs"))
    arguments.add_argument("--output", default=os.path.join(HERE, "..", "docs", "Performance.md"))
    arguments.add_argument("--images", default=None, help="default: images/ beside the output")
    arguments.add_argument("--targets", default=os.path.join(HERE, "targets.md"))
    options = arguments.parse_args()
    images = options.images or os.path.join(os.path.dirname(os.path.abspath(options.output)), "images")
    suites, peers = load(options.runs)
    page = Page(suites, peers, images)
    runs = sorted({s.run for s in suites.values()} | ({peers[0]} if peers else set()))
    page.lines += [
        "# Performance",
        "",
        "<!-- Generated by Benchmarks/run-all (Benchmarks/performance.py); do not edit by hand. -->",
        "*This page is generated: `Benchmarks/run-all` runs every benchmark suite and the peer comparison and "
        "rewrites it (`RUN_ALL_SUITES=\"Floor Composites\" Benchmarks/run-all` refreshes some suites and keeps the "
        "others' latest results; `python3 Benchmarks/performance.py` rewrites it from the raw reports under "
        "`Benchmarks/.runs/` without measuring). See [Benchmarks](Benchmarks.md) for what each suite measures.*",
        "",
        f"Generated on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC from the run(s) "
        + (", ".join(f"`{run}`" for run in runs) or "(none)")
        + " on this machine:",
        "",
        *machine(),
        "",
        "Times are medians (p50) in nanoseconds per operation, release builds; mallocs are `mallocCountTotal` per operation.",
        "",
        "<!-- Targets of issue 24: Benchmarks/targets.md, included verbatim when it exists. -->",
    ]
    if os.path.exists(options.targets):
        page.lines += ["", open(options.targets, encoding="utf-8").read().strip("\n")]
    page.lines.append("<!-- End of Benchmarks/targets.md. -->")
    page.write_floor()
    page.write_decisions()
    page.write_composites()
    page.write_difference(
        "Policies and pipelines", "Policies", "Floor: bare async call", "added over the bare call (ns)",
        "Each policy and pipeline on its success path: what it adds over the bare call, measured in the same run.",
    )
    page.write_difference("Queues", "Queues", None, "", "The waiting orders, the job queue, and the dead-letter journal's appends.")
    page.write_own_floor(
        "Monitors", "Monitors", "Record paths and reads, against their floor (a clock read and a compare-exchange) in the same run."
    )
    page.write_difference(
        "HTTP", "HTTP", "HTTP: the handler alone (baseline)", "added over the handler (ns)",
        "The rate-limit middleware per request, against the bare handler in the same run.",
    )
    page.write_redis()
    page.write_own_floor(
        "Partitioned", "Partitioned", "Bytes per key, and decisions among many live keys against the floor in the same run.",
        only="tryAcquire",
    )
    page.write_difference("Contention", "Contention", None, "", "The engine's lock against `Mutex`, many threads on this machine's cores.")
    page.write_peers()
    page.write_scale()
    with open(options.output, "w", encoding="utf-8") as file:
        file.write("\n".join(page.lines) + "\n")
    print(f"wrote {os.path.relpath(options.output)} from {len(suites)} suite report(s)" + (" and the peers" if peers else ""))


if __name__ == "__main__":
    main()
