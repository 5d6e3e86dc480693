#!/usr/bin/env python3
"""Writes every vector file of Tests/Vectors/: test vectors for every implementation of Bulwark's
rate-limiting algorithms, chains and budgets.

The expected figures come from this file's own reference model, written independently of the
Swift code with exact rational arithmetic (fractions.Fraction), so the table checks the Swift
implementation (and later the Redis script) against a second opinion, not against itself.

The models are in models.py (one class per algorithm, from the rules in README.md), the
hand-written traces in cases.py; the random traces come from fixed seeds here. The circuit
breaker (model, cases and seeded traces) is in breaker.py, the retry backoffs in backoff.py.

Run: python3 Tests/Vectors/generate.py  (deterministic: the random traces use fixed seeds)
"""
import json
import random
from pathlib import Path

import adaptive
import backoff
import breaker
from cases import DAY, HAND, MIN, S, A, C, F, R, case, tb
from models import Budget, Chain, Driver, run

HERE = Path(__file__).parent
UNITS = "times and durations in nanoseconds; counts in the limiter's unit"
DESCRIPTIONS = {
    "token-bucket": __doc__.split("\n\n")[1].replace("\n", " "),
    "leaky-bucket-meter": "A bucket of capacity C drains continuously at R per P; a request pours in its cost if it fits.",
    "leaky-bucket-shaper": "Releases paced period/rate per unit of cost, with no burst, on an exact grid.",
    "gcra": "The theoretical arrival time decides; with burst B it equals a full token bucket of capacity B.",
    "fixed-window": "At most limit per window; windows aligned to an epoch; the count resets at the boundary.",
    "sliding-window-log": "Every admission logged with its time; at most limit in any window, exactly.",
    "sliding-window-counter": "Cloudflare's estimate: previous × (window − e) / window + current, exact in integers.",
    "segmented-window": "N segments of window/N; a segment's count leaves the window whole.",
    "concurrency": "At most limit in flight; capacity comes back on release, never with time.",
    "chain": "Several limiters taken all-or-nothing; a denial gives back what earlier links took.",
    "budget": "A chain with reservations: an estimate reserved, then settled with the real cost.",
}


def gaps(rng, max_gap):
    return rng.choice([0, 0, 1, rng.randrange(max_gap), rng.randrange(max_gap // 7 + 1)])


def acquire_only_trace(seed, steps, max_gap, max_cost):
    """The token bucket's first random traces (kept as they were: acquires only)."""
    rng = random.Random(seed)
    t, trace = 0, []
    for _ in range(steps):
        t += gaps(rng, max_gap)
        trace.append(A(t, rng.choice([0, 1, 1, 1, rng.randint(1, max_cost)])))
    return trace


def random_trace(algorithm, config, seed, max_gap, max_cost, past=False, steps=300):
    """Acquires, refunds of earlier admissions (releases for concurrency) and charges; with
    `past`, one reading in seven is earlier than the latest."""
    rng = random.Random(seed)
    driver, t, admitted, trace = Driver(algorithm, config), 0, [], []
    for _ in range(steps):
        t += gaps(rng, max_gap)
        at = max(0, t - rng.randrange(max_gap)) if past and rng.random() < 1 / 7 else t
        roll = rng.random()
        if roll < 0.12 and admitted:
            admitted_at, cost = rng.choice(admitted)
            give = rng.randint(1, cost)
            op = F if algorithm == "concurrency" else R
            trace.append(op(at, give, admitted_at))
            driver.refund(at, give, admitted_at)
        elif roll < 0.2:
            cost = rng.randint(1, 2 * max_cost)
            trace.append(C(at, cost))
            driver.charge(at, cost)
        else:
            cost = rng.choice([0, 1, 1, 1, rng.randint(1, max_cost)])
            trace.append(A(at, cost))
            figures, admitted_at = driver.acquire(at, cost)
            if figures["allowed"] and cost > 0:
                admitted.append((admitted_at, cost))
    return trace


def expand(algorithm, c):
    trace = c["trace"]
    steps = run(algorithm, c["config"], trace)
    monotonic = all(b[1] >= a[1] for a, b in zip(trace, trace[1:]))
    return {"name": c["name"], "note": c["note"], "config": c["config"], "monotonicClock": monotonic, "steps": steps}


def rand(algorithm, name, config, seed, max_gap, max_cost, past=False):
    c = case(name, f"seed {seed}", config, random_trace(algorithm, config, seed, max_gap, max_cost, past))
    return expand(algorithm, c)


def win(limit, window, epoch=0, **extra):
    return {"limit": limit, "windowNanoseconds": window, **extra, "epochNanoseconds": epoch}


def algorithm_files():
    files = {}
    first = [expand("token-bucket", c) for c in HAND["token-bucket"]] + [
        expand("token-bucket", case("random trace: 10 per second", "seed 1", tb(10, 10, S, None),
                                    acquire_only_trace(1, 300, 400_000_000, 10))),
        expand("token-bucket", case("random trace: 40 per minute", "seed 2", tb(40, 40, MIN, None),
                                    acquire_only_trace(2, 300, 6 * S, 40))),
        expand("token-bucket", case("random trace: 90,000 tokens per minute", "seed 3", tb(90_000, 90_000, MIN, 0),
                                    acquire_only_trace(3, 300, 3 * S, 20_000))),
        expand("token-bucket", case("random trace: 7 per 3 seconds", "seed 4", tb(20, 7, 3 * S, 5),
                                    acquire_only_trace(4, 300, 2 * S, 20))),
    ]
    files["token-bucket"] = first + [expand("token-bucket", c) for c in HAND["token-bucket (refunds and charges)"]] + [
        rand("token-bucket", "random trace with refunds and charges: 40 per minute", tb(40, 40, MIN, None), 5, 6 * S, 40),
        rand("token-bucket", "random trace with refunds and charges: 7 per 3 seconds, readings from the past",
             tb(20, 7, 3 * S, 5), 6, 2 * S, 20, past=True),
    ]
    meter = lambda cap, amount, period, level=None: {  # noqa: E731
        "capacity": cap, "drainAmount": amount, "drainPeriodNanoseconds": period, "initialLevel": level}
    shaper = lambda rate, period, m: {"rate": rate, "periodNanoseconds": period, "maximumCost": m}  # noqa: E731
    gcra = lambda rate, period, burst: {"rate": rate, "periodNanoseconds": period, "burst": burst}  # noqa: E731
    randoms = {
        "leaky-bucket-meter": [
            ("random trace: 10 per second", meter(10, 10, S), 11, 400_000_000, 10, False),
            ("random trace: 40 per minute", meter(40, 40, MIN), 12, 6 * S, 40, False),
            ("random trace: 90,000 tokens per minute", meter(90_000, 90_000, MIN), 13, 3 * S, 20_000, False),
            ("random trace with readings from the past", meter(20, 7, 3 * S, 3), 14, 2 * S, 20, True)],
        "leaky-bucket-shaper": [
            ("random trace: 40 per minute", shaper(40, MIN, 1), 21, 6 * S, 1, False),
            ("random trace: 10 per second, costs up to 4", shaper(10, S, 4), 22, 400_000_000, 4, False),
            ("random trace: 3 per second", shaper(3, S, 2), 23, 900_000_000, 2, False),
            ("random trace with readings from the past", shaper(5, S, 3), 24, 700_000_000, 3, True)],
        "gcra": [
            ("random trace: 10 per second, burst 10", gcra(10, S, 10), 31, 400_000_000, 10, False),
            ("random trace: 40 per minute, burst 20", gcra(40, MIN, 20), 32, 6 * S, 20, False),
            ("random trace: 7 per 3 seconds, burst 20", gcra(7, 3 * S, 20), 33, 2 * S, 20, False),
            ("random trace with readings from the past", gcra(7, 3 * S, 20), 34, 2 * S, 20, True)],
        "fixed-window": [
            ("random trace: 10 per second", win(10, S), 41, 400_000_000, 10, False),
            ("random trace: 100 per minute, epoch 13 s", win(100, MIN, 13 * S), 42, 6 * S, 30, False),
            ("random trace: 5 per 700 ms", win(5, 700_000_000), 43, 300_000_000, 5, False),
            ("random trace with readings from the past", win(7, S, -3), 44, 500_000_000, 7, True)],
        "sliding-window-log": [
            ("random trace: 10 per second", {"limit": 10, "windowNanoseconds": S}, 51, 400_000_000, 10, False),
            ("random trace: 40 per minute", {"limit": 40, "windowNanoseconds": MIN}, 52, 6 * S, 40, False),
            ("random trace: 25 per 3 seconds", {"limit": 25, "windowNanoseconds": 3 * S}, 53, S, 25, False),
            ("random trace with readings from the past", {"limit": 12, "windowNanoseconds": 2 * S}, 54, S, 12, True)],
        "sliding-window-counter": [
            ("random trace: 10 per second", win(10, S), 61, 400_000_000, 10, False),
            ("random trace: 100 per minute", win(100, MIN), 62, 6 * S, 30, False),
            ("random trace: 7 per 700 ms, epoch 11", win(7, 700_000_000, 11), 63, 300_000_000, 7, False),
            ("random trace with readings from the past", win(9, S, -5), 64, 500_000_000, 9, True)],
        "segmented-window": [
            ("random trace: 40 per minute in 12 segments", win(40, MIN, segments=12), 71, 6 * S, 40, False),
            ("random trace: 10 per second in 5 segments", win(10, S, segments=5), 72, 400_000_000, 10, False),
            ("random trace: 90,000 tokens per minute", win(90_000, MIN, segments=12), 73, 3 * S, 20_000, False),
            ("random trace with readings from the past", win(12, 3 * S, 17, segments=6), 74, S, 12, True)],
        "concurrency": [
            ("random trace: limit 5", {"limit": 5}, 81, 10, 5, False),
            ("random trace: limit 20", {"limit": 20}, 82, 10, 20, False),
            ("random trace: limit 100", {"limit": 100}, 83, 10, 40, False),
            ("random trace: limit 3", {"limit": 3}, 84, 10, 3, False)],
    }
    for algorithm, specs in randoms.items():
        files[algorithm] = [expand(algorithm, c) for c in HAND[algorithm]] + [
            rand(algorithm, name, config, seed, gap, cost, past) for name, config, seed, gap, cost, past in specs]
    return files


# Chains and budgets: links named and configured as in the algorithm files.
def link(name, algorithm, config):
    return {"name": name, "algorithm": algorithm, "config": config}


RPM = link("requests", "token-bucket", tb(3, 3, MIN, None))
TPM = link("tokens", "token-bucket", tb(1_000, 1_000, MIN, None))


def chain_steps(links, trace):
    chain, steps = Chain(links), []
    for at, costs in trace:
        figures, _ = chain.acquire(at, costs)
        steps.append({"op": "acquire", "at": at, "costs": costs, **figures})
    return steps


def chain_case(name, note, links, trace):
    return {"name": name, "note": note, "config": {"links": links}, "monotonicClock": True,
            "steps": chain_steps(links, trace)}


def random_chain(name, links, seed, max_gap, steps=200):
    rng = random.Random(seed)
    limits = [Driver(l["algorithm"], l["config"]).limit for l in links]
    t, trace = 0, []
    for _ in range(steps):
        t += gaps(rng, max_gap)
        trace.append((t, [rng.choice([0, 1, 1, rng.randint(1, max(1, limit // 3)), rng.randint(1, limit)]) for limit in limits]))
    return chain_case(name, f"seed {seed}", links, trace)


def chain_file():
    pair = [RPM, TPM]
    windows = [link("second", "fixed-window", win(5, S)), link("log", "sliding-window-log", {"limit": 2, "windowNanoseconds": S})]
    paced = [link("pace", "leaky-bucket-shaper", {"rate": 2, "periodNanoseconds": S, "maximumCost": 1}),
             link("burst", "gcra", {"rate": 10, "periodNanoseconds": S, "burst": 3})]
    flight = [link("in-flight", "concurrency", {"limit": 2}), link("rate", "token-bucket", tb(5, 5, S, None))]
    return [
        chain_case("requests and tokens per minute", "the tokens run out first, then the requests", pair,
                   [(0, [1, 600]), (0, [1, 600]), (0, [1, 400]), (0, [1, 1]), (20 * S, [1, 300]), (20 * S, [1, 0])]),
        chain_case("a denial gives back what earlier links took", "the fixed window keeps its count when the log denies",
                   windows, [(0, [1, 1]), (0, [1, 1]), (0, [1, 1]), (0, [0, 0]), (S // 2, [1, 1]), (S, [1, 1]), (S, [1, 1])]),
        chain_case("the longest wait names the link", "pace waits 500 ms, burst less", paced,
                   [(0, [1, 1]), (0, [1, 1]), (100_000_000, [1, 1]), (500_000_000, [1, 1]), (S, [1, 1]), (S, [1, 1])]),
        chain_case("a concurrency link never frees with time", "its wait is forever", flight,
                   [(0, [1, 1]), (0, [1, 1]), (0, [1, 1]), (S, [1, 1]), (S, [0, 1])]),
        random_chain("random trace: requests and tokens per minute", pair, 91, 40 * S),
        random_chain("random trace: fixed window and log", windows, 92, 2 * S),
        random_chain("random trace: shaper and GCRA", paced, 93, 2 * S),
        random_chain("random trace: meter, counter, segmented", [
            link("meter", "leaky-bucket-meter", {"capacity": 8, "drainAmount": 4, "drainPeriodNanoseconds": S, "initialLevel": None}),
            link("counter", "sliding-window-counter", win(10, S, 7)),
            link("segments", "segmented-window", win(12, 2 * S, segments=4))], 94, 2 * S),
        random_chain("random trace: tokens per minute in segments", [
            link("requests", "segmented-window", win(20, MIN, segments=12)),
            link("input", "segmented-window", win(50_000, MIN, segments=12)),
            link("output", "token-bucket", tb(20_000, 20_000, MIN, None))], 95, 20 * S),
        random_chain("random trace: GCRA and a fixed window with an epoch", [
            link("rate", "gcra", {"rate": 5, "periodNanoseconds": S, "burst": 2}),
            link("window", "fixed-window", win(8, 2 * S, 300_000_000))], 96, S),
    ]


def budget_case(name, note, dimensions, timeout, trace):
    budget, steps = Budget(dimensions, timeout), []
    for op, at, id, costs in trace:
        if op == "reserve":
            steps.append({"op": op, "at": at, "id": id, "estimate": costs, **budget.reserve(at, id, costs)})
        else:
            steps.append({"op": op, "at": at, "id": id, "actual": costs, **budget.settle(at, id, costs)})
    return {"name": name, "note": note, "config": {"dimensions": dimensions, "reservationTimeoutNanoseconds": timeout},
            "monotonicClock": True, "steps": steps}


def random_budget(name, dimensions, timeout, seed, max_gap, steps=200):
    """Reserves and settles; only reservations the model granted are settled, some after expiry."""
    rng = random.Random(seed)
    model, limits = Budget(dimensions, timeout), [Driver(d["algorithm"], d["config"]).limit for d in dimensions]
    t, trace = 0, []
    for number in range(steps):
        t += gaps(rng, max_gap)
        if model.held and rng.random() < 0.35:
            id = min(model.held) if rng.random() < 0.3 else rng.choice(sorted(model.held))
            estimate = model.held[id][0]
            actual = [max(0, e + rng.randint(-e, e // 2 + 1)) for e in estimate]
            trace.append(("settle", t, id, actual))
            model.settle(t, id, actual)
        else:
            estimate = [rng.choice([1, rng.randint(1, max(1, limit // 4)), rng.randint(1, limit)]) for limit in limits]
            if rng.random() < 0.03:
                estimate[rng.randrange(len(limits))] += max(limits)  # above a limit: an error
            trace.append(("reserve", t, number, estimate))
            model.reserve(t, number, estimate)
    return budget_case(name, f"seed {seed}", dimensions, timeout, trace)


def budget_file():
    llm = [link("requests", "token-bucket", tb(10, 10, MIN, None)),
           link("input", "segmented-window", win(10_000, MIN, segments=12)),
           link("output", "token-bucket", tb(5_000, 5_000, MIN, None))]
    small = [link("requests", "fixed-window", win(3, S)), link("tokens", "gcra", {"rate": 100, "periodNanoseconds": S, "burst": 100})]
    return [
        budget_case("a surplus is given back", "estimate 2,000 output tokens, used 500", llm, 30 * S, [
            ("reserve", 0, 1, [1, 3_000, 2_000]), ("reserve", 0, 2, [1, 3_000, 3_000]), ("reserve", 0, 3, [1, 100, 100]),
            ("settle", S, 1, [1, 2_500, 500]), ("reserve", S, 4, [1, 100, 100])]),
        budget_case("an overrun is charged as debt", "used 4,000 of an estimate of 1,000", llm, 30 * S, [
            ("reserve", 0, 1, [1, 1_000, 1_000]), ("settle", 0, 1, [1, 1_000, 4_000]), ("reserve", 0, 2, [1, 100, 1_000]),
            ("reserve", 12 * S, 3, [1, 100, 1_000])]),
        budget_case("an expired reservation keeps its estimate", "settled 1 ns too late", small, 5 * S, [
            ("reserve", 0, 1, [1, 50]), ("settle", 5 * S, 1, [1, 0]), ("reserve", 5 * S, 2, [1, 50]),
            ("settle", 10 * S - 1, 2, [1, 0])]),
        budget_case("an estimate above a limit is an error", "it names the dimension and changes nothing", small, 5 * S, [
            ("reserve", 0, 1, [1, 101]), ("reserve", 0, 2, [4, 1]), ("reserve", 0, 3, [3, 100])]),
        random_budget("random trace: requests, input and output tokens per minute", llm, 30 * S, 101, 20 * S),
        random_budget("random trace: a fixed window and GCRA", small, 2 * S, 102, 2 * S),
        random_budget("random trace: meter and log", [
            link("meter", "leaky-bucket-meter", {"capacity": 20, "drainAmount": 10, "drainPeriodNanoseconds": S, "initialLevel": None}),
            link("log", "sliding-window-log", {"limit": 15, "windowNanoseconds": S})], 3 * S, 103, 2 * S),
        random_budget("random trace: counter and shaper", [
            link("counter", "sliding-window-counter", win(30, S)),
            link("pace", "leaky-bucket-shaper", {"rate": 20, "periodNanoseconds": S, "maximumCost": 5})], S, 104, S),
        random_budget("random trace: token bucket and GCRA", [
            link("requests", "token-bucket", tb(5, 1, S, None)), link("tokens", "gcra", {"rate": 25, "periodNanoseconds": S, "burst": 50})],
            10 * S, 105, 3 * S),
        random_budget("random trace: two segmented windows, long timeout", [
            link("requests", "segmented-window", win(30, 10 * S, segments=5)),
            link("tokens", "segmented-window", win(4_000, 10 * S, segments=5))], MIN, 106, 10 * S),
    ]


def write(algorithm, cases):
    for c in cases:
        if algorithm == "token-bucket":  # this file's acquires carry no "op"
            c["steps"] = [{k: v for k, v in s.items() if not (k == "op" and v == "acquire")} for s in c["steps"]]
    document = {"algorithm": algorithm, "description": DESCRIPTIONS[algorithm],
                "units": "times and durations in nanoseconds; counts in tokens" if algorithm == "token-bucket" else UNITS,
                "generatedBy": "Tests/Vectors/generate.py", "cases": cases}
    # One step per line: readable in a diff, small on disk.
    text = json.dumps(document, indent=1, ensure_ascii=False)
    for c in cases:
        for step in c["steps"]:
            text = text.replace(json.dumps(step, indent=1, ensure_ascii=False).replace("\n", "\n    "),
                                json.dumps(step, ensure_ascii=False), 1)
    out = HERE / f"{algorithm}.json"
    out.write_text(text + "\n")
    print(f"wrote {out.name}: {len(cases)} cases, {sum(len(c['steps']) for c in cases)} steps")


if __name__ == "__main__":
    for algorithm, cases in algorithm_files().items():
        write(algorithm, cases)
    write("chain", chain_file())
    write("budget", budget_file())
    breaker.write()
    backoff.write()
    adaptive.write()
