"""The circuit breaker's vectors: a reference model, its hand-written cases, seeded random traces,
and the writing of circuit-breaker.json (generate.py calls write()).

The model is README.md's "circuit-breaker.json" section turned into Python, written from that
contract and never from the Swift code. Times are whole nanoseconds; the only non-integer inputs
are the rate thresholds (percent), compared exactly: `count × 100 ≥ threshold × calls`.

A trace is a list of inputs: Q(at) acquires (the k-th acquire of a case names its permit "pk"),
W(at, permit, outcome) records a permit's outcome (its duration is at − the acquire's at),
G(at) reads the state, T(at, to) moves to a state by hand, Z(at) resets.
"""
import json
import random
from fractions import Fraction
from pathlib import Path

from cases import MIN, S

HERE = Path(__file__).parent
MS = 1_000_000
STATES = ("closed", "open", "half-open", "forced-open", "disabled", "metrics-only")
OUTCOMES = ("success", "failure", "ignored")


def reached(count, calls, threshold):
    """count / calls ≥ threshold percent, exactly. The thresholds used are binary floats whose
    products with small counts are exact, so a Double evaluation of the same formula agrees."""
    exact = count * 100 >= Fraction(threshold) * calls
    assert exact == (count * 100.0 >= threshold * calls), (count, calls, threshold)
    return exact


class Breaker:
    def __init__(self, c):
        self.c = c
        self.window = c["window"]
        assert self.window["type"] in ("count", "time")
        self.state = "closed"
        self.generation = 0
        self.calls = []     # count window: (failure, slow) of the last N calls, oldest first
        self.buckets = {}   # time window: bucket index -> [calls, failures, slow]
        self.consecutive = 0
        self.openings = 0
        self.open_until = None
        self.half_open_since = None
        self.first_probe_at = None    # when this half-open period's first probe was permitted
        self.probes_taken = 0
        self.probe_permitted = False  # at least one probe permitted in this half-open period
        self.probe = [0, 0, 0]        # probe totals: calls, failures, slow
        self.transitions = []         # (from, to) of every transition, for coverage statistics

    # Transitions -------------------------------------------------------------------------------

    def _enter(self, state):
        self.transitions.append((self.state, state))
        self.state = state
        self.generation += 1

    def _empty(self):
        self.calls, self.buckets, self.consecutive = [], {}, 0

    def duration(self, openings):
        d = self.c["openDuration"]
        if d["type"] == "fixed":
            return d["nanoseconds"]
        assert d["type"] == "exponential"
        return min(d["maximum"], d["initial"] * d["multiplier"] ** (openings - 1))

    def _open(self, s):
        self.openings = self.openings + 1 if self.state in ("half-open", "open") else 1
        self.open_until = s + self.duration(self.openings)
        self._enter("open")

    def _close(self):
        self._empty()
        self.openings = 0
        self._enter("closed")

    def _half_open(self, t):
        self.half_open_since = t
        self.probes_taken, self.probe_permitted, self.probe = 0, False, [0, 0, 0]
        self.consecutive = 0
        self._enter("half-open")

    def advance(self, t):
        """The time-driven transitions, at the start of every operation but reset."""
        limit = self.c["maximumHalfOpenNanoseconds"]
        if (self.state == "half-open" and self.probe_permitted and limit is not None
                and t >= self.first_probe_at + limit):
            self._open(self.first_probe_at + limit)
        if self.state == "open" and t >= self.open_until:
            self._half_open(t)

    # Operations --------------------------------------------------------------------------------

    def acquire(self, t):
        """(permitted, retryAfter or None, the permit's generation)."""
        self.advance(t)
        if self.state in ("closed", "disabled", "metrics-only"):
            return True, None, self.generation
        if self.state == "open":
            return False, self.open_until - t, None
        if self.state == "forced-open":
            return False, None, None
        assert self.state == "half-open"
        if self.probes_taken < self.c["halfOpenProbes"]:
            self.probes_taken += 1
            if not self.probe_permitted:
                self.first_probe_at = t
            self.probe_permitted = True
            return True, None, self.generation
        return False, None, None

    def read_state(self, t):
        self.advance(t)
        return self.state

    def transition(self, t, to):
        assert to in STATES
        self.advance(t)
        if self.state == to:
            return
        if to == "closed":
            self._close()
        elif to == "open":
            self._open(t)
        elif to == "half-open":
            self._half_open(t)
        else:
            self._empty()
            self._enter(to)

    def reset(self, t):
        self._close()

    def _totals(self, t):
        if self.window["type"] == "count":
            return len(self.calls), sum(f for f, _ in self.calls), sum(s for _, s in self.calls)
        lowest = t // self.window["bucketNanoseconds"] - self.window["bucketCount"] + 1
        live = [v for k, v in self.buckets.items() if k >= lowest]
        return sum(v[0] for v in live), sum(v[1] for v in live), sum(v[2] for v in live)

    def _rate_reached(self, calls, failures, slow):
        fr, sr = self.c["failureRateThreshold"], self.c["slowCallRateThreshold"]
        return calls > 0 and ((fr is not None and reached(failures, calls, fr))
                              or (sr is not None and reached(slow, calls, sr)))

    def _consecutive_reached(self):
        threshold = self.c["consecutiveFailureThreshold"]
        return threshold is not None and self.consecutive >= threshold

    def record(self, t, generation, outcome, d):
        assert outcome in OUTCOMES
        self.advance(t)  # a transition due by now makes this permit stale
        if generation != self.generation:
            return  # a permit of an earlier generation: stale
        if self.state in ("closed", "metrics-only"):
            if outcome == "ignored":
                return
            failure = outcome == "failure"
            slow = self.c["slowCallRateThreshold"] is not None and d > self.c["slowCallNanoseconds"]
            self.consecutive = self.consecutive + 1 if failure else 0
            if self.window["type"] == "count":
                self.calls = (self.calls + [(int(failure), int(slow))])[-self.window["size"]:]
            else:
                k = t // self.window["bucketNanoseconds"]
                lowest = k - self.window["bucketCount"] + 1
                self.buckets = {i: v for i, v in self.buckets.items() if i >= lowest}
                bucket = self.buckets.setdefault(k, [0, 0, 0])
                bucket[0] += 1
                bucket[1] += int(failure)
                bucket[2] += int(slow)
            if self.state != "closed":
                return
            calls, failures, slows = self._totals(t)
            minimum = self.c["minimumCalls"]
            if self.window["type"] == "count":
                minimum = min(minimum, self.window["size"])
            if self._consecutive_reached() or (calls >= minimum and self._rate_reached(calls, failures, slows)):
                self._open(t)
        elif self.state == "half-open":
            if outcome == "ignored":
                self.probes_taken -= 1
                return
            failure = outcome == "failure"
            slow = self.c["slowCallRateThreshold"] is not None and d > self.c["slowCallNanoseconds"]
            self.probe[0] += 1
            self.probe[1] += int(failure)
            self.probe[2] += int(slow)
            self.consecutive = self.consecutive + 1 if failure else 0
            probes = self.c["halfOpenProbes"]
            if self.c["failureRateThreshold"] is None and self.c["slowCallRateThreshold"] is None:
                if failure:
                    self._open(t)
                elif self.probe[0] >= probes:
                    self._close()
                return
            m = min(self.c["minimumCalls"], probes)
            if self._consecutive_reached() or (self.probe[0] >= m and self._rate_reached(*self.probe)):
                self._open(t)
            elif self.probe[0] >= m:
                self._close()
        # open, forced-open, disabled: nothing


# Traces -----------------------------------------------------------------------------------------

def Q(at):
    return ("acquire", at)


def W(at, permit, outcome):
    return ("record", at, permit, outcome)


def G(at):
    return ("state", at)


def T(at, to):
    return ("transition", at, to)


def Z(at):
    return ("reset", at)


def run(config, trace):
    """Expected steps for a trace, and the model at its end."""
    model, permits, steps, acquires, last = Breaker(config), {}, [], 0, 0
    for op, at, *rest in trace:
        assert at >= last, "times go forward only"
        last = at
        if op == "acquire":
            acquires += 1
            permitted, retry, generation = model.acquire(at)
            permit = f"p{acquires}" if permitted else None
            if permitted:
                permits[permit] = (at, generation)
            steps.append({"op": op, "at": at, "permitted": permitted, "permit": permit, "retryAfter": retry})
        elif op == "record":
            permit, outcome = rest
            acquired_at, generation = permits.pop(permit)  # each permitted acquire recorded at most once
            model.record(at, generation, outcome, at - acquired_at)
            steps.append({"op": op, "at": at, "permit": permit, "outcome": outcome, "duration": at - acquired_at})
        elif op == "state":
            steps.append({"op": op, "at": at, "state": model.read_state(at)})
        elif op == "transition":
            model.transition(at, rest[0])
            steps.append({"op": op, "at": at, "to": rest[0]})
        elif op == "reset":
            model.reset(at)
            steps.append({"op": op, "at": at})
        else:
            raise ValueError(op)
    return steps, model


def config(window, failure=50.0, slow=None, slow_ns=S, minimum=1, consecutive=None,
           open_duration=None, probes=1, max_half_open=None):
    return {"window": window, "failureRateThreshold": failure, "slowCallRateThreshold": slow,
            "slowCallNanoseconds": slow_ns, "minimumCalls": minimum,
            "consecutiveFailureThreshold": consecutive,
            "openDuration": open_duration or fixed(10 * S), "halfOpenProbes": probes,
            "maximumHalfOpenNanoseconds": max_half_open}


def count(n):
    return {"type": "count", "size": n}


def buckets(bucket, n):
    return {"type": "time", "bucketNanoseconds": bucket, "bucketCount": n}


def fixed(d):
    return {"type": "fixed", "nanoseconds": d}


def exponential(initial, multiplier, maximum):
    return {"type": "exponential", "initial": initial, "multiplier": multiplier, "maximum": maximum}


def case(name, note, c, trace):
    steps, _ = run(c, trace)
    return {"name": name, "note": note, "config": c, "monotonicClock": True, "steps": steps}


def calls(at, outcomes, first=1, record_at=None):
    """Acquires at `at`, one per outcome, then records them in order (at `record_at`, default `at`):
    permits p<first>, p<first+1>, ..."""
    record_at = at if record_at is None else record_at
    return [Q(at) for _ in outcomes] + [W(record_at, f"p{first + i}", o) for i, o in enumerate(outcomes)]


def failing_probes(openings, initial, multiplier, maximum):
    """A failure opens at 0; each probe, taken as the open period ends, fails: `openings` openings,
    each followed by a refused acquire showing its duration."""
    trace, t, n = [Q(0), W(0, "p1", "failure"), Q(0)], 0, 2
    for k in range(1, openings):
        t += min(maximum, initial * multiplier ** (k - 1))
        trace += [Q(t), W(t, f"p{n + 1}", "failure"), Q(t)]
        n += 2
    return trace


def hand_cases():
    f, s, x = "failure", "success", "ignored"
    D = 10 * S
    return [
        case("the failure rate exactly at the threshold opens",
             "count window 4, 50 %, minimum 4: 1 failure in 3 calls is below the minimum; 2 in 4 is exactly 50 %",
             config(count(4), 50.0, minimum=4),
             [Q(0), Q(0), Q(0), Q(0), W(1, "p1", s), W(2, "p2", f), W(3, "p3", s), G(3), W(4, "p4", f), G(4),
              Q(5), G(D + 3), G(D + 4)]),
        case("just below the threshold stays closed",
             "count window 7, 50 %: 3 failures in 7 calls (42.9 %) stay closed; the window slides to 4 in 7",
             config(count(7), 50.0, minimum=7),
             calls(0, [s, s, f, s, f, s, f]) + [G(0), Q(1), W(1, "p8", s), G(1), Q(2), W(2, "p9", f), G(2)]),
        case("the minimum is capped by the size of a count window",
             "minimum 10 in a window of 3: the rate is judged from the third call",
             config(count(3), 50.0, minimum=10),
             [Q(0), Q(0), Q(0), W(0, "p1", f), W(0, "p2", s), G(0), W(0, "p3", f), G(0)]),
        case("a time window's minimum is not capped",
             "3 buckets of 1 s, minimum 4: 3 failures out of 3 stay closed, the 4th call opens",
             config(buckets(S, 3), 50.0, minimum=4),
             calls(0, [f, f, f]) + [G(S), Q(S), W(S, "p4", s), G(S)]),
        case("a bucket still counts 1 ns before it leaves",
             "3 buckets of 1 s, minimum 4: at 2.999999999 s bucket 0 is in the window (2 of 4 fail: open)",
             config(buckets(S, 3), 50.0, minimum=4),
             [Q(0), Q(0), Q(0), Q(0), W(500 * MS, "p1", f), W(S, "p2", s), W(1_500 * MS, "p3", s), G(2 * S),
              W(3 * S - 1, "p4", f), G(3 * S - 1)]),
        case("a bucket leaves exactly at its boundary",
             "the same calls, the last at 3 s: bucket 0 has left (3 calls, below the minimum); one more failure: 2 of 4",
             config(buckets(S, 3), 50.0, minimum=4),
             [Q(0), Q(0), Q(0), Q(0), Q(0), W(500 * MS, "p1", f), W(S, "p2", s), W(1_500 * MS, "p3", s), G(2 * S),
              W(3 * S, "p4", f), G(3 * S), W(3 * S, "p5", f), G(3 * S)]),
        case("a call of exactly the slow duration is not slow",
             "slow above 100 ms, 50 %, no failure rate (failures do not count): 100 ms is fast; 100 ms + 1 ns is slow",
             config(count(2), None, slow=50.0, slow_ns=100 * MS, minimum=2),
             [Q(0), Q(0), W(100 * MS, "p1", s), W(100 * MS, "p2", f), G(100 * MS), Q(100 * MS),
              W(200 * MS + 1, "p3", s), G(200 * MS + 1)]),
        case("retry-after counts down to 1 ns; half-open at exactly the end",
             "two consecutive failures open at 5 ns for 10 s; refused 1 ns before the end, a probe at the end",
             config(count(10), None, consecutive=2, open_duration=fixed(D)),
             [Q(0), Q(0), W(3, "p1", f), G(4), W(5, "p2", f), Q(5), Q(6), G(D + 4), Q(D + 4), G(D + 5),
              Q(D + 5), Q(D + 5)]),
        case("half-open is judged at min(minimumCalls, probes)",
             "minimum 5, 3 probes: the verdict comes with the third result; 1 failure in 3 closes",
             config(count(10), 50.0, minimum=5, probes=3, open_duration=fixed(D)),
             calls(0, [f, f, f, f, f]) + [G(0), Q(D), Q(D), Q(D), Q(D), W(D + 1, "p6", s), W(D + 2, "p7", f), G(D + 2),
                                          W(D + 3, "p8", s), G(D + 3), Q(D + 3)]),
        case("half-open reopens when the probes fail the rate",
             "minimum 2, 3 probes: judged at 2 results; 1 failure in 2 is 50 % and reopens",
             config(count(10), 50.0, minimum=2, probes=3, open_duration=fixed(D)),
             calls(0, [f, f]) + [Q(D), Q(D), Q(D), W(D + 1, "p3", s), G(D + 1), W(D + 2, "p4", f), G(D + 2),
                                 Q(D + 2), W(D + 3, "p5", s), G(D + 3), Q(2 * D + 2)]),
        case("an ignored probe gives its slot back",
             "one probe: refused while it is out, permitted again once it is recorded as ignored",
             config(count(4), 50.0, minimum=4, probes=1, open_duration=fixed(D)),
             calls(0, [f, f, f, f]) + [Q(D), Q(D), W(D + 1, "p5", x), G(D + 1), Q(D + 2), Q(D + 2),
                                       W(D + 3, "p7", s), G(D + 3)]),
        case("an exponential open duration grows, is capped and starts again after closing",
             "1 s × 3^(n − 1), at most 5 s: 1 s, 3 s, 5 s, 5 s, then closed, then 1 s again",
             config(count(5), None, consecutive=1, open_duration=exponential(S, 3, 5 * S)),
             [Q(0), W(0, "p1", f), Q(0), Q(S), W(S, "p3", f), Q(S), Q(4 * S), W(4 * S, "p5", f), Q(4 * S),
              Q(9 * S), W(9 * S, "p7", f), Q(9 * S), Q(14 * S), W(14 * S, "p9", s), G(14 * S),
              Q(15 * S), W(15 * S, "p10", f), Q(15 * S), G(16 * S)]),
        case("an exponential open duration saturates instead of overflowing",
             "1 s × 1000^(n − 1), at most 9 s: from the 7th opening the product passes Int64.max",
             config(count(5), None, consecutive=1, open_duration=exponential(S, 1_000, 9 * S)),
             failing_probes(8, S, 1_000, 9 * S)),
        case("an exponential open duration reaching a maximum near Int64.max",
             "3 ns × 7^(n − 1), at most 2^62 ns: the 23rd opening (3 × 7^22 > Int64.max) is capped",
             config(count(5), None, consecutive=1, open_duration=exponential(3, 7, 2**62)),
             failing_probes(23, 3, 7, 2**62)),
        case("a half-open period ends after its maximum once a probe was permitted",
             "maximum 2 s from the start of half-open at 10 s: it reopens at exactly 12 s, for 10 s from then",
             config(count(10), None, consecutive=1, probes=2, open_duration=fixed(D), max_half_open=2 * S),
             [Q(0), W(0, "p1", f), Q(D), G(D + 2 * S - 1), Q(D + 2 * S - 1), Q(D + 2 * S - 1), G(D + 2 * S),
              Q(D + 2 * S + 5), W(D + 2 * S + 6, "p2", s), G(D + 2 * S + 6), G(2 * D + 2 * S)]),
        case("with no probe permitted a half-open period has no end",
             "maximum 2 s: still half-open 5 s in; a probe permitted then ends the period at once, at start + 2 s",
             config(count(10), None, consecutive=1, probes=2, open_duration=fixed(D), max_half_open=2 * S),
             [Q(0), W(0, "p1", f), G(D), G(D + 5 * S), Q(D + 5 * S), Q(D + 5 * S), G(D + 5 * S + 1),
              Q(D + 5 * S + 1), W(D + 5 * S + 2, "p2", s), G(2 * D + 2 * S - 1), G(2 * D + 2 * S)]),
        case("a record does not look at the clock",
             "a probe recorded after the half-open maximum, with no acquire or state read between, still counts",
             config(count(10), None, consecutive=1, probes=1, open_duration=fixed(D), max_half_open=S),
             [Q(0), W(0, "p1", f), Q(D), W(D + 5 * S, "p2", s), G(D + 5 * S)]),
        case("a stale permit changes nothing",
             "results of calls let through before a transition are dropped, in every state",
             config(count(2), 50.0, minimum=2, probes=1, open_duration=fixed(D)),
             [Q(0), Q(0), Q(0), Q(0), W(1, "p1", f), W(2, "p2", f), G(2), W(3, "p3", f), Q(D + 2),
              W(D + 3, "p4", f), G(D + 3), W(D + 4, "p5", s), G(D + 4), Q(D + 4), Q(D + 4), Z(D + 5),
              W(D + 5, "p6", f), W(D + 6, "p7", f), G(D + 6), Q(D + 7), W(D + 7, "p8", f), G(D + 7), Q(D + 8),
              W(D + 8, "p9", f), G(D + 8)]),
        case("consecutive failures in the closed state",
             "3 in a row open; a success starts the count again; the failure rate (100 %, minimum 10) never decides",
             config(count(20), 100.0, minimum=10, consecutive=3),
             calls(0, [f, f, s, f, f]) + [G(0), Q(1), W(1, "p6", x), G(1), Q(2), W(2, "p7", f), G(2)]),
        case("consecutive failures only, in the half-open state",
             "no rate: a failed probe reopens at once; two successful probes close",
             config(count(5), None, consecutive=2, probes=2, open_duration=fixed(D)),
             calls(0, [f, f]) + [Q(D), Q(D), W(D + 1, "p3", s), G(D + 1), W(D + 2, "p4", f), G(D + 2),
                                 Q(2 * D + 2), Q(2 * D + 2), W(2 * D + 3, "p5", s), G(2 * D + 3),
                                 W(2 * D + 4, "p6", s), G(2 * D + 4)]),
        case("consecutive failures reopen a half-open breaker before its minimum",
             "rate 100 % judged at 4 probes; 2 consecutive failed probes reopen first",
             config(count(10), 100.0, minimum=10, consecutive=2, probes=4, open_duration=fixed(D)),
             calls(0, [f, f]) + [Q(D), Q(D), Q(D), W(D + 1, "p3", f), G(D + 1), W(D + 2, "p4", f), G(D + 2)]),
        case("forced open refuses without a retry-after until moved by hand",
             "time does not end it; moving to closed starts an empty window",
             config(count(3), 50.0, minimum=3),
             [Q(0), Q(0), W(1, "p1", f), W(1, "p2", f), T(2, "forced-open"), Q(3), G(100 * S), T(100 * S, "forced-open"),
              Q(100 * S), T(101 * S, "closed"), Q(101 * S), W(101 * S, "p5", f), G(101 * S)]),
        case("disabled lets everything through and records nothing",
             "failures while disabled never open, and permits of before count for nothing once closed",
             config(count(2), 50.0, minimum=2, consecutive=1),
             [Q(0), T(0, "disabled"), Q(1), Q(1), W(2, "p1", f), W(3, "p2", f), W(3, "p3", f), G(3),
              T(4, "closed"), Q(5), W(5, "p4", s), G(5)]),
        case("metrics-only counts calls but never opens",
             "its window fills as in closed; moving to closed empties it",
             config(count(2), 50.0, minimum=2, consecutive=2),
             [T(0, "metrics-only"), Q(1), Q(1), Q(1), W(2, "p1", f), W(3, "p2", f), G(3), T(4, "closed"),
              W(5, "p3", f), G(5), Q(6), W(6, "p4", f), G(6), Q(7), W(7, "p5", f), G(7)]),
        case("moving by hand keeps the count of openings",
             "half-open from closed counts as one opening; open from forced-open starts at one",
             config(count(5), None, consecutive=1, probes=1, open_duration=exponential(S, 2, 60 * S)),
             [T(0, "half-open"), Q(0), W(1, "p1", f), Q(1), T(2, "forced-open"), T(3, "half-open"), Q(3),
              W(4, "p3", f), Q(4), T(5, "forced-open"), T(6, "open"), Q(6), T(7, "open"), Q(7)]),
        case("reset closes from any state and forgets the openings",
             "exponential 1 s × 4: reset while open, then the next opening is 1 s again; a reset even of a closed "
             "breaker makes earlier permits stale",
             config(count(5), None, consecutive=1, probes=1, open_duration=exponential(S, 4, MIN)),
             [Q(0), W(0, "p1", f), G(S), Q(S), W(S, "p2", f), Q(S), Z(2 * S), G(2 * S), Q(2 * S), W(2 * S, "p4", f),
              Q(2 * S), Q(3 * S), Z(3 * S), W(3 * S, "p6", f), G(3 * S), Q(3 * S), Z(3 * S), W(3 * S, "p7", f),
              G(3 * S)]),
    ]


# Random traces -------------------------------------------------------------------------------

RANDOM = [
    # name, config, seed, manual (chance of a transition or reset per step)
    ("count window 10, 50 %, minimum 5", config(count(10), 50.0, minimum=5, probes=3), 201, 0.0),
    ("count window 5, 40 % failures or 50 % slow", config(count(5), 40.0, slow=50.0, slow_ns=300 * MS, minimum=5,
                                                          probes=2), 202, 0.0),
    ("count window 20, minimum 100 (capped at 20)", config(count(20), 25.0, minimum=100, probes=5), 203, 0.0),
    ("count window 1", config(count(1), 100.0, minimum=1, probes=1), 204, 0.0),
    ("consecutive failures only, count window", config(count(10), None, consecutive=3, probes=2), 205, 0.0),
    ("slow calls only", config(count(8), None, slow=37.5, slow_ns=200 * MS, minimum=4, probes=2), 206, 0.0),
    ("rate and consecutive, exponential", config(count(10), 60.0, minimum=10, consecutive=4, probes=3,
                                                 open_duration=exponential(S, 2, 30 * S)), 207, 0.0),
    ("exponential ×3 capped, maximum half-open", config(count(6), 50.0, minimum=3, probes=2,
                                                        open_duration=exponential(500 * MS, 3, 20 * S),
                                                        max_half_open=3 * S), 208, 0.0),
    ("maximum half-open, one probe", config(count(4), 50.0, minimum=4, probes=1, max_half_open=2 * S), 209, 0.0),
    ("many probes, minimum 2", config(count(10), 50.0, minimum=2, probes=6, open_duration=fixed(5 * S)), 210, 0.0),
    ("time window 10 × 1 s, 50 %, minimum 5", config(buckets(S, 10), 50.0, minimum=5, probes=3), 211, 0.0),
    ("time window 4 × 250 ms, minimum 3", config(buckets(250 * MS, 4), 50.0, minimum=3, probes=2,
                                                 open_duration=fixed(2 * S)), 212, 0.0),
    ("time window 6 × 10 s, slow and failures", config(buckets(10 * S, 6), 25.0, slow=75.0, slow_ns=S, minimum=10,
                                                       probes=4, open_duration=fixed(30 * S)), 213, 0.0),
    ("time window 1 × 2 s", config(buckets(2 * S, 1), 50.0, minimum=2, probes=2, open_duration=fixed(3 * S)),
     214, 0.0),
    ("time window, consecutive only, exponential", config(buckets(S, 5), None, consecutive=2, probes=2,
                                                          open_duration=exponential(S, 2, 16 * S)), 235, 0.0),
    ("time window, slow only, maximum half-open", config(buckets(500 * MS, 8), None, slow=50.0, slow_ns=400 * MS,
                                                         minimum=3, probes=2, max_half_open=S,
                                                         open_duration=fixed(4 * S)), 216, 0.0),
    ("time window, all thresholds", config(buckets(S, 3), 50.0, slow=50.0, slow_ns=500 * MS, minimum=4,
                                           consecutive=3, probes=3, open_duration=exponential(S, 4, MIN),
                                           max_half_open=5 * S), 217, 0.0),
    ("time window, 100 % failures", config(buckets(S, 2), 100.0, minimum=2, probes=1, open_duration=fixed(S)),
     218, 0.0),
    ("count window 10, with manual transitions", config(count(10), 50.0, minimum=5, probes=3), 221, 0.06),
    ("count window 4, slow, manual transitions", config(count(4), 50.0, slow=50.0, slow_ns=250 * MS, minimum=4,
                                                        probes=2, max_half_open=2 * S), 222, 0.08),
    ("consecutive only, exponential, manual transitions", config(count(5), None, consecutive=2, probes=2,
                                                                 open_duration=exponential(S, 2, 8 * S)), 223, 0.08),
    ("time window, manual transitions", config(buckets(S, 5), 50.0, minimum=4, probes=2,
                                               open_duration=fixed(3 * S)), 224, 0.06),
    ("time window, exponential, maximum half-open, manual", config(buckets(250 * MS, 8), 40.0, slow=60.0,
                                                                   slow_ns=300 * MS, minimum=3, consecutive=5,
                                                                   probes=3, max_half_open=2 * S,
                                                                   open_duration=exponential(S, 3, 27 * S)), 225, 0.08),
    ("count window 3, many resets", config(count(3), 50.0, minimum=3, probes=1, open_duration=fixed(2 * S)), 226, 0.15),
    ("large exponential multiplier, saturating", config(count(2), 50.0, minimum=1, probes=1,
                                                        open_duration=exponential(S, 1000, 9 * S)), 227, 0.0),
    ("exponential growth with a huge maximum", config(count(3), None, consecutive=1, probes=1,
                                                      open_duration=exponential(1, 10, 2**62)), 228, 0.05),
    ("12.5 % over 16 calls", config(count(16), 12.5, minimum=8, probes=4, open_duration=fixed(S)), 249, 0.03),
    ("time window 60 × 1 s, minimum 20", config(buckets(S, 60), 30.0, minimum=20, probes=5,
                                                open_duration=fixed(3 * S)), 230, 0.03),
    ("no threshold at all", config(count(5), None, minimum=1, probes=1), 231, 0.1),
    ("slow threshold 100 %, failure 75 %", config(count(4), 75.0, slow=100.0, slow_ns=100 * MS, minimum=4,
                                                  probes=2, max_half_open=S, open_duration=fixed(2 * S)), 252, 0.05),
]


def scale(c):
    """A typical long gap: about the open duration (its initial value when exponential)."""
    d = c["openDuration"]
    return max(d["nanoseconds"] if d["type"] == "fixed" else d["initial"], S)


def random_case(name, c, seed, manual, steps=200):
    """Acquires, records of outstanding permits (some stale, a few never recorded), state reads and,
    with `manual`, transitions and resets. Failures come in phases so the breaker opens and closes."""
    rng = random.Random(seed)
    model, t, outstanding, trace, acquires = Breaker(c), 0, [], [], 0
    long_gap, short_gap = scale(c), max(c["slowCallNanoseconds"], 100 * MS)
    failing = rng.random() < 0.5
    for _ in range(steps):
        if rng.random() < 0.06:
            failing = not failing
        t += rng.choice([0, 0, 0, 1, rng.randrange(short_gap // 4), rng.randrange(2 * short_gap),
                         rng.randrange(long_gap // 3), rng.randrange(2 * long_gap)])
        roll = rng.random()
        if roll < manual:
            if rng.random() < 0.3:
                trace.append(Z(t))
                model.reset(t)
            else:
                to = rng.choice(["closed", "closed", "open", "half-open", "forced-open", "disabled", "metrics-only"])
                trace.append(T(t, to))
                model.transition(t, to)
        elif roll < 0.45 or not outstanding:
            acquires += 1
            trace.append(Q(t))
            permitted, _, generation = model.acquire(t)
            if permitted:
                outstanding.append((f"p{acquires}", t, generation))
        elif roll < 0.85:
            i = 0 if rng.random() < 0.3 else rng.randrange(len(outstanding))
            permit, acquired_at, generation = outstanding.pop(i)
            p = 0.75 if failing else 0.12
            outcome = rng.choices(["failure", "success", "ignored"], [p, 1 - p, 0.08])[0]
            trace.append(W(t, permit, outcome))
            model.record(t, generation, outcome, t - acquired_at)
        else:
            trace.append(G(t))
            model.read_state(t)
        if len(outstanding) > 12:  # some calls never report: abandon a permit, never a live probe
            live = [i for i, (_, _, g) in enumerate(outstanding)
                    if not (model.state == "half-open" and g == model.generation)]
            outstanding.pop(rng.choice(live))
    return {"name": f"random trace: {name}", "note": f"seed {seed}", "trace": trace, "config": c}


def random_cases():
    out = []
    for name, c, seed, manual in RANDOM:
        r = random_case(name, c, seed, manual)
        steps, _ = run(c, r["trace"])
        out.append({"name": r["name"], "note": r["note"], "config": c, "monotonicClock": True, "steps": steps})
    return out


# Writing ------------------------------------------------------------------------------------

def dump(document, path, steps=(), lists=()):
    """JSON with one indent per level, as generate.py writes it: each item of a case's `steps`
    lists on one line, each of its `lists` (of numbers) whole on one line."""
    one_line = lambda value, depth: (  # noqa: E731
        json.dumps(value, indent=1, ensure_ascii=False).replace("\n", "\n" + " " * depth),
        json.dumps(value, ensure_ascii=False))
    text = json.dumps(document, indent=1, ensure_ascii=False)
    for c in document["cases"]:
        for key in steps:
            for item in c[key]:
                text = text.replace(*one_line(item, 4), 1)
        for key in lists:
            text = text.replace(*one_line(c[key], 3), 1)
    assert json.loads(text) == document
    path.write_text(text + "\n")


def write():
    cases = hand_cases() + random_cases()
    document = {"algorithm": "circuit-breaker",
                "description": "Closed, open, half-open and the manual states; count or time windows; failure and "
                               "slow-call rates, consecutive failures; fixed or exponential open durations.",
                "units": "times and durations in nanoseconds; rate thresholds in percent",
                "generatedBy": "Tests/Vectors/generate.py", "cases": cases}
    out = HERE / "circuit-breaker.json"
    dump(document, out, steps=["steps"])
    print(f"wrote {out.name}: {len(cases)} cases, {sum(len(c['steps']) for c in cases)} steps")


if __name__ == "__main__":
    write()
