#!/usr/bin/env python3
"""Writes token-bucket.json: test vectors for every implementation of Bulwark's token bucket.

The expected figures come from this file's own reference model, written independently of the
Swift code with exact rational arithmetic (fractions.Fraction), so the table checks the Swift
implementation (and later the Redis script) against a second opinion, not against itself.

Model: a bucket of `capacity` tokens refills continuously at refillAmount / refillPeriod tokens
per nanosecond, capped at capacity. A step at time `at` (ns) asks for `cost` tokens. Time never
goes back: a step earlier than the last one is evaluated at the last one, and its durations are
counted from its own `at`. Durations are whole nanoseconds, rounded up.

Run: python3 Tests/Vectors/generate.py  (deterministic: the random traces use fixed seeds)
"""
import json
import math
import random
from fractions import Fraction
from pathlib import Path


def simulate(config, trace):
    cap = config["capacity"]
    rate = Fraction(config["refillAmount"], config["refillPeriodNanoseconds"])  # tokens per ns
    tokens = Fraction(config["initialTokens"] if config["initialTokens"] is not None else cap)
    last = 0
    steps = []
    for at, cost in trace:
        time = max(at, last)
        tokens = min(Fraction(cap), tokens + (time - last) * rate)
        last = time
        lag = time - at
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
            retry = 0
        else:
            retry = lag + math.ceil((cost - tokens) / rate)
        reset = lag + math.ceil((cap - tokens) / rate)
        steps.append({
            "at": at, "cost": cost, "allowed": allowed,
            "remaining": math.floor(tokens), "retryAfter": retry, "resetAfter": reset,
        })
    return steps


def case(name, capacity, refill, period, initial, trace, note):
    config = {"capacity": capacity, "refillAmount": refill,
              "refillPeriodNanoseconds": period, "initialTokens": initial}
    monotonic = all(b[0] >= a[0] for a, b in zip(trace, trace[1:]))
    return {"name": name, "note": note, "config": config,
            "monotonicClock": monotonic, "steps": simulate(config, trace)}


S = 1_000_000_000
MIN = 60 * S


def random_trace(seed, capacity, steps, max_gap, max_cost):
    rng = random.Random(seed)
    t, trace = 0, []
    for _ in range(steps):
        t += rng.choice([0, 0, 1, rng.randrange(max_gap), rng.randrange(max_gap // 7 + 1)])
        trace.append((t, rng.choice([0, 1, 1, 1, rng.randint(1, max_cost)])))
    return trace


cases = [
    case("40 per minute: burst, then one every 1.5 s", 40, 40, MIN, None,
         [(0, 1)] * 40 + [(0, 1), (1_500_000_000 - 1, 1), (1_500_000_000, 1), (1_500_000_000, 1),
                          (3_000_000_000, 1)],
         "the 41st call waits exactly 1.5 s; one nanosecond less is not enough"),
    case("3 per second: a token every 333,333,333.3 ns, no drift", 3, 3, S, None,
         [(0, 3), (333_333_333, 1), (333_333_334, 1), (666_666_666, 1), (666_666_667, 1),
          (1_000_000_000, 1), (3_600 * S, 3), (3_600 * S + 333_333_333, 1), (3_600 * S + 333_333_334, 1)],
         "fractions of a nanosecond are carried, not rounded away, even an hour later"),
    case("7 per second, capacity 5 (a rate with no common factor)", 5, 7, S, 0,
         [(i * 97_000_003, 1) for i in range(60)],
         "calls every 97 ms against 142.857 ms per token"),
    case("tokens per minute: costs above one", 10_000, 10_000, MIN, None,
         [(0, 1_200), (0, 5_000), (0, 4_000), (0, 3_800), (10 * S, 500), (30 * S, 4_000), (30 * S, 0)],
         "an LLM call costs its token count; a cost of zero is a probe"),
    case("starts empty", 10, 1, S, 0,
         [(0, 1), (999_999_999, 1), (S, 1), (S, 1), (5 * S, 4), (5 * S, 1)],
         "initialTokens 0"),
    case("idle for days caps at capacity", 5, 1, S, 2,
         [(0, 2), (10 * 24 * 3_600 * S, 5), (10 * 24 * 3_600 * S, 1)],
         "no more than capacity however long the idle time"),
    case("clock going backwards counts from the latest reading", 4, 1, S, 0,
         [(2 * S, 2), (S, 1), (S, 0), (3 * S, 1)],
         "a step earlier than the last is evaluated at the last; retry-after counts from its own time"),
    case("one million tokens per minute", 1_000_000, 1_000_000, MIN, None,
         [(0, 999_999), (0, 2), (59, 1), (60, 1), (60, 1), (120, 1)],
         "one token every 60 ns"),
    case("a prime refill amount", 1_000, 999_983, S, 0,
         [(i * 1_001, 1) for i in range(40)],
         "999,983 tokens per second: units per token 1e9, units per ns 999,983"),
    case("random trace: 10 per second", 10, 10, S, None,
         random_trace(1, 10, 300, 400_000_000, 10), "seed 1"),
    case("random trace: 40 per minute", 40, 40, MIN, None,
         random_trace(2, 40, 300, 6 * S, 40), "seed 2"),
    case("random trace: 90,000 tokens per minute", 90_000, 90_000, MIN, 0,
         random_trace(3, 90_000, 300, 3 * S, 20_000), "seed 3"),
    case("random trace: 7 per 3 seconds", 20, 7, 3 * S, 5,
         random_trace(4, 20, 300, 2 * S, 20), "seed 4"),
]

document = {
    "algorithm": "token-bucket",
    "description": __doc__.split("\n\n")[1].replace("\n", " "),
    "units": "times and durations in nanoseconds; counts in tokens",
    "generatedBy": "Tests/Vectors/generate.py",
    "cases": cases,
}
out = Path(__file__).with_name("token-bucket.json")
# One step per line: readable in a diff, small on disk.
text = json.dumps(document, indent=1)
for c in cases:
    for step in c["steps"]:
        text = text.replace(json.dumps(step, indent=1).replace("\n", "\n    "), json.dumps(step), 1)
out.write_text(text + "\n")
print(f"wrote {out} ({sum(len(c['steps']) for c in cases)} steps in {len(cases)} cases)")
