"""The retry backoffs' vectors: the deterministic backoffs (no jitter) and the writing of
backoff.json (generate.py calls write()).

Written from README.md's "backoff.json" section, never from the Swift code. The delay before retry
r (r = 1, 2, ...) is, in exact arithmetic on whole nanoseconds, capped at maximumDelay:
  constant     D
  linear       I + K·(r − 1)
  exponential  d₁ = I, dₖ₊₁ = ⌊dₖ·M⌋ (M a float taken at its exact binary value): truncated at every
               step, as Resilience4j's exponential interval function does
"""
import math
from fractions import Fraction
from pathlib import Path

from breaker import dump
from cases import MIN, S

HERE = Path(__file__).parent
MS = 1_000_000
HOUR = 60 * MIN
DAY = 24 * HOUR


def delay(c, r):
    if c["type"] == "constant":
        exact = Fraction(c["delay"])
    elif c["type"] == "linear":
        exact = Fraction(c["initial"] + c["increment"] * (r - 1))
    else:
        assert c["type"] == "exponential"
        d, m = c["initial"], Fraction(c["multiplier"])
        for _ in range(r - 1):
            if d >= c["maximumDelay"]:
                break  # M ≥ 1: the delays never decrease, so the cap holds from here on
            d = math.floor(d * m)
        exact = d
    return min(c["maximumDelay"], math.trunc(exact))


def constant(d, maximum):
    return {"type": "constant", "delay": d, "maximumDelay": maximum}


def linear(initial, increment, maximum):
    return {"type": "linear", "initial": initial, "increment": increment, "maximumDelay": maximum}


def exponential(initial, multiplier, maximum):
    assert isinstance(multiplier, float)
    return {"type": "exponential", "initial": initial, "multiplier": multiplier, "maximumDelay": maximum}


def case(name, note, c, retries):
    return {"name": name, "note": note, "config": c, "delays": [delay(c, r) for r in range(1, retries + 1)]}


def backoff_cases():
    return [
        case("constant", "250 ms every time", constant(250 * MS, 10 * S), 5),
        case("constant above its maximum", "5 s capped at 2 s", constant(5 * S, 2 * S), 3),
        case("constant of one nanosecond", "the smallest delay", constant(1, S), 3),
        case("linear", "100 ms, then 50 ms more each retry", linear(100 * MS, 50 * MS, 10 * S), 8),
        case("linear reaching its maximum", "1 s more each retry, at most 3.5 s", linear(S, S, 3_500 * MS), 6),
        case("linear with no increment", "the same as constant", linear(300 * MS, 0, S), 4),
        case("linear over many retries", "7 ns + 13 ns per retry, at most 1 µs", linear(7, 13, 1_000), 100),
        case("exponential doubling", "100 ms × 2^(r − 1), capped at 10 s from the 8th retry",
             exponential(100 * MS, 2.0, 10 * S), 10),
        case("exponential 1.5: truncated at every step",
             "7 ns, then ⌊7 × 1.5⌋ = 10, ⌊10 × 1.5⌋ = 15, ⌊15 × 1.5⌋ = 22 (truncating once would give 23)",
             exponential(7, 1.5, DAY), 30),
        case("exponential 1.25", "1 s × 1.25^(r − 1), at most 1 minute", exponential(S, 1.25, MIN), 25),
        case("exponential multiplier 1", "the same as constant", exponential(500 * MS, 1.0, S), 4),
        case("exponential 3, exact beyond a double's 53 bits",
             "1 ns × 3^(r − 1) up to 3^37 (above 2^53, where a double would round), at most 10^18 ns",
             exponential(1, 3.0, 10**18), 40),
        case("exponential far past Int64", "1 s × 2^(r − 1) for 100 retries: capped at 1 hour from the 13th",
             exponential(S, 2.0, HOUR), 100),
        case("exponential 1.5 for 200 retries", "1.5^199 is about 10^35: capped at 1 day", exponential(S, 1.5, DAY), 200),
        case("exponential starting at its maximum", "every delay is the maximum", exponential(S, 2.0, S), 5),
        case("exponential with an odd initial delay", "999,999,999 ns × 2.5^(r − 1)",
             exponential(999_999_999, 2.5, 10 * MIN), 12),
    ]


def write():
    cases = backoff_cases()
    document = {"algorithm": "backoff",
                "description": "The delay before each retry: constant, linear or exponential, capped at a maximum.",
                "units": "delays in nanoseconds; delays[i] is the delay before retry i + 1",
                "generatedBy": "Tests/Vectors/generate.py", "cases": cases}
    out = HERE / "backoff.json"
    dump(document, out, lists=["delays"])
    print(f"wrote {out.name}: {len(cases)} cases, {sum(len(c['delays']) for c in cases)} delays")


if __name__ == "__main__":
    write()
