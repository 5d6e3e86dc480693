#!/usr/bin/env python3
"""The adaptive concurrency limits' vectors: AIMD, Vegas and Gradient2, and the writing of
adaptive.json (run this file, or call write()).

Transcribed step for step from Netflix concurrency-limits (concurrency-limits-core, package
com.netflix.concurrency.limits.limit: AIMDLimit, VegasLimit, Gradient2Limit, AbstractLimit,
measurement.ExpAvgMeasurement, functions.Log10RootIntFunction), never from the Swift code.
Python floats are IEEE doubles, as Java's are, and every expression is evaluated in the Java
code's order, so the doubles are bit-identical. Java semantics kept:
  (int) x            truncates toward zero (NaN is 0, out of range saturates): jint()
  log10root(t)       Log10RootIntFunction.create(0): max(1, (int) log10(t)) for t < 1000 (the
                     lookup table; lookup[0] = max(1, (int) -Infinity) = 1), (int) log10(t) from
                     1000 on
  getLimit()         the int _update() returned (AbstractLimit.setLimit)

Each sample is (roundTrip ns, inFlight, dropped), as Limit.onSample(startTime, rtt, inflight,
didDrop); startTime plays no part in these three algorithms.

AIMD       limit' = clamp(min, max) of (int)(limit * backoffRatio) on a drop or rtt > timeout,
           limit + 1 when inflight * 2 >= limit, else limit.
Vegas      probeCount + 1; probe when probeJitter * probeMultiplier * estimatedLimit <= probeCount
           (then rtt_noload = rtt, probeCount = 0, a new jitter); else a first or lower round trip
           sets rtt_noload; else queueSize = (int) ceil(estimatedLimit * (1 - (double) rtt_noload / rtt))
           and, on a drop: decrease; app-limited (inflight * 2 < estimatedLimit): unchanged;
           queueSize <= threshold: + beta; < alpha: increase; > beta: decrease; else unchanged.
           newLimit = max(1, min(max, newLimit)); estimated = (1 - s) * estimated + s * newLimit.
Gradient2  longRtt = ExpAvgMeasurement(longWindow, 10).add(rtt) (the mean of the first 10
           samples, then an exponential average with factor 2 / (longWindow + 1)); if
           longRtt / shortRtt > 2 the measurement's value is multiplied by 0.95 (while warming up
           the next mean overwrites that, as in Java: the sum is not touched); app-limited
           (inflight < estimated / 2): unchanged; gradient = max(0.5, min(1, tolerance * longRtt /
           shortRtt)); newLimit = estimated * gradient + queueSize; newLimit = estimated * (1 - s)
           + newLimit * s; clamp(min, max).

Bulwark's deliberate differences from Netflix (documented by the library):
  1. Vegas' probe jitter comes from SplitMix64 seeded by the config's `seed` (not
     ThreadLocalRandom): jitter = 0.5 + 0.5 * ((next() >> 11) * 2^-53); one drawn when the limit
     is created and a new one after every probe.
  2. A round trip below 1 ns counts as 1 ns (Java throws); the vectors only hold rtt >= 1.
  3. Vegas' alpha and beta are fixed integers when the config gives them (Java's alpha(int),
     beta(int)), else 3 * log10root and 6 * log10root of (int) estimatedLimit; threshold,
     increase and decrease are always Netflix's defaults (log10root, + log10root, − log10root).
  4. Gradient2's queueSize is a fixed integer (Netflix's default 4).
"""
import math
import random
from pathlib import Path

from breaker import dump

HERE = Path(__file__).parent
MS = 1_000_000
S = 1_000_000_000
INT_MIN, INT_MAX = -2**31, 2**31 - 1
MASK64 = 2**64 - 1


# --- Java semantics ----------------------------------------------------------------------------

def jint(x):
    """Java's (int) cast of a double: toward zero, NaN to 0, saturating."""
    if x != x:
        return 0
    if x >= INT_MAX:
        return INT_MAX
    if x <= INT_MIN:
        return INT_MIN
    return int(x)


def _log10_int(i):
    value = jint(math.log10(i)) if i > 0 else jint(-math.inf)  # Math.log10(0) = -Infinity
    if i > 0:
        assert value == len(str(i)) - 1, i  # the C library's log10 is exact at powers of ten
    return value


LOOKUP = [max(1, _log10_int(i)) for i in range(1000)]
assert LOOKUP[0] == 1 and LOOKUP[1] == 1 and LOOKUP[99] == 1 and LOOKUP[100] == 2 and LOOKUP[999] == 2


def log10root(t):
    """Log10RootIntFunction.create(0).applyAsInt(t)."""
    assert t >= 0  # Java would index the table out of bounds
    return LOOKUP[t] if t < 1000 else _log10_int(t)


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def jitter(self):
        return 0.5 + 0.5 * ((self.next() >> 11) * 2.0**-53)


# --- The algorithms ----------------------------------------------------------------------------
# sample() returns (figures, why): figures are the expected step fields; why names the branch
# taken (and for Vegas the queue size), so the hand-written cases can assert what they exercise.

class AIMD:
    def __init__(self, c):
        assert c["type"] == "aimd" and c["minimumLimit"] <= c["initialLimit"] <= c["maximumLimit"]
        self.limit = c["initialLimit"]
        self.backoff_ratio = c["backoffRatio"]
        self.timeout = c["timeout"]
        self.min_limit = c["minimumLimit"]
        self.max_limit = c["maximumLimit"]

    def sample(self, rtt, inflight, did_drop):
        assert rtt >= 1
        current = self.limit
        if did_drop or rtt > self.timeout:
            current = jint(current * self.backoff_ratio)
            why = "drop" if did_drop else "timeout"
        elif inflight * 2 >= current:
            current = current + 1
            why = "grow"
        else:
            why = "app-limited"
        new = min(self.max_limit, max(self.min_limit, current))
        if new != current:
            why += "+clamped"
        self.limit = new
        return {"limit": self.limit}, why


class Vegas:
    def __init__(self, c):
        assert c["type"] == "vegas" and 1 <= c["initialLimit"] <= c["maximumLimit"]
        self.limit = c["initialLimit"]
        self.estimated = float(c["initialLimit"])
        self.rtt_noload = 0
        self.max_limit = c["maximumLimit"]
        self.smoothing = c["smoothing"]
        self.probe_multiplier = c["probeMultiplier"]
        self.fixed_alpha = c.get("alpha")
        self.fixed_beta = c.get("beta")
        self.random = SplitMix64(c["seed"])
        self.probe_count = 0
        self.probe_jitter = self.random.jitter()

    def alpha(self, limit):
        return self.fixed_alpha if self.fixed_alpha is not None else 3 * log10root(limit)

    def beta(self, limit):
        return self.fixed_beta if self.fixed_beta is not None else 6 * log10root(limit)

    def should_probe(self):
        return self.probe_jitter * self.probe_multiplier * self.estimated <= self.probe_count

    def sample(self, rtt, inflight, did_drop):
        rtt = max(1, rtt)  # difference 2
        self.probe_count += 1
        if self.should_probe():
            self.probe_jitter = self.random.jitter()
            self.probe_count = 0
            self.rtt_noload = rtt
            new, why = jint(self.estimated), "probe"
        elif self.rtt_noload == 0 or rtt < self.rtt_noload:
            self.rtt_noload = rtt
            new, why = jint(self.estimated), "no-load"
        else:
            new, why = self.update_estimated_limit(rtt, self.rtt_noload, inflight, did_drop)
        self.limit = new
        return {"limit": self.limit, "estimatedLimit": self.estimated, "noLoadRoundTrip": self.rtt_noload}, why

    def update_estimated_limit(self, rtt, rtt_noload, inflight, did_drop):
        estimated = self.estimated
        queue_size = jint(float(math.ceil(estimated * (1 - float(rtt_noload) / float(rtt)))))
        if did_drop:
            new = estimated - log10root(jint(estimated))
            why = "drop"
        elif inflight * 2 < estimated:
            return jint(estimated), f"app-limited q={queue_size}"
        else:
            limit = jint(estimated)
            alpha, beta, threshold = self.alpha(limit), self.beta(limit), log10root(limit)
            if queue_size <= threshold:
                new, why = estimated + beta, "beta"
            elif queue_size < alpha:
                new, why = estimated + log10root(jint(estimated)), "increase"
            elif queue_size > beta:
                new, why = estimated - log10root(jint(estimated)), "decrease"
            else:
                return jint(estimated), f"sweet q={queue_size}"
        new = float(max(1.0, min(float(self.max_limit), new)))
        new = (1 - self.smoothing) * estimated + self.smoothing * new
        self.estimated = new
        return jint(new), f"{why} q={queue_size}"


class ExpAvgMeasurement:
    def __init__(self, window, warmup_window):
        self.value = 0.0
        self.sum = 0.0
        self.window = window
        self.warmup_window = warmup_window
        self.count = 0

    def add(self, sample):
        if self.count < self.warmup_window:
            self.count += 1
            self.sum += float(sample)
            self.value = self.sum / self.count
        else:
            factor = 2.0 / (self.window + 1)
            self.value = self.value * (1 - factor) + float(sample) * factor
        return self.value


class Gradient2:
    def __init__(self, c):
        assert c["type"] == "gradient2" and c["minimumLimit"] <= c["initialLimit"] <= c["maximumLimit"]
        self.limit = c["initialLimit"]
        self.estimated = float(c["initialLimit"])
        self.max_limit = c["maximumLimit"]
        self.min_limit = c["minimumLimit"]
        self.queue_size = c["queueSize"]
        self.smoothing = c["smoothing"]
        self.tolerance = c["rttTolerance"]
        self.long_rtt = ExpAvgMeasurement(c["longWindow"], 10)

    def sample(self, rtt, inflight, did_drop):
        assert rtt >= 1
        self.limit, why = self.update(rtt, inflight, did_drop)
        return {"limit": self.limit, "estimatedLimit": self.estimated}, why

    def update(self, rtt, inflight, did_drop):
        estimated = self.estimated
        queue_size = float(self.queue_size)
        short_rtt = float(rtt)
        long_rtt = self.long_rtt.add(rtt)
        why = ""
        if long_rtt / short_rtt > 2:
            self.long_rtt.value = self.long_rtt.value * 0.95
            why = "decay "
        if inflight < estimated / 2:
            return jint(estimated), why + "app-limited"
        ratio = self.tolerance * long_rtt / short_rtt
        gradient = max(0.5, min(1.0, ratio))
        new = estimated * gradient + queue_size
        new = estimated * (1 - self.smoothing) + new * self.smoothing
        clamped = max(float(self.min_limit), min(float(self.max_limit), new))
        why += "gradient " + ("0.5" if ratio < 0.5 else "1" if ratio > 1.0 else "between")
        if clamped != new:
            why += " clamped " + ("min" if clamped == self.min_limit else "max")
        self.estimated = clamped
        return jint(clamped), why


MODELS = {"aimd": AIMD, "vegas": Vegas, "gradient2": Gradient2}


# --- Configurations ----------------------------------------------------------------------------

def aimd(initial=20, minimum=20, maximum=200, ratio=0.9, timeout=5 * S):
    return {"type": "aimd", "initialLimit": initial, "minimumLimit": minimum, "maximumLimit": maximum,
            "backoffRatio": ratio, "timeout": timeout}


def vegas(initial=20, maximum=1000, smoothing=1.0, probe=30, seed=1, alpha=None, beta=None):
    c = {"type": "vegas", "initialLimit": initial, "maximumLimit": maximum, "smoothing": smoothing,
         "probeMultiplier": probe, "seed": seed}
    if alpha is not None:
        c["alpha"] = alpha
    if beta is not None:
        c["beta"] = beta
    return c


def gradient2(initial=20, minimum=20, maximum=200, smoothing=0.2, queue=4, tolerance=1.5, window=600):
    return {"type": "gradient2", "initialLimit": initial, "minimumLimit": minimum, "maximumLimit": maximum,
            "smoothing": smoothing, "queueSize": queue, "rttTolerance": tolerance, "longWindow": window}


# --- Cases -------------------------------------------------------------------------------------

def run(config, samples):
    """samples: (roundTrip, inFlight, dropped[, expected why]); returns the steps and the whys."""
    model = MODELS[config["type"]](config)
    steps, whys = [], []
    for sample in samples:
        rtt, inflight, dropped = sample[:3]
        figures, why = model.sample(rtt, inflight, dropped)
        if len(sample) > 3:
            assert why == sample[3], (config, sample, why)
        steps.append({"roundTrip": rtt, "inFlight": inflight, "dropped": dropped, **figures})
        whys.append(why)
    return steps, whys


def case(name, note, config, samples):
    steps, _ = run(config, samples)
    return {"name": name, "note": note, "config": config, "steps": steps}


def aimd_cases():
    ms100 = 100 * MS
    return [
        case("aimd: growth", "+1 whenever at least half the limit is in flight (inflight * 2 >= limit)",
             aimd(10, 1, 100),
             [(ms100, 5, False, "grow"), (ms100, 6, False, "grow"), (ms100, 6, False, "grow"),
              (ms100, 100, False, "grow")]),
        case("aimd: app-limited, no growth", "fewer than half the limit in flight: unchanged",
             aimd(10, 1, 100),
             [(ms100, 4, False, "app-limited"), (ms100, 0, False, "app-limited"), (ms100, 5, False, "grow"),
              (ms100, 5, False, "app-limited")]),
        case("aimd: drop", "(int)(limit × 0.9), truncated: 10 → 9 → 8 (8.1) → 7 (7.2) → 6 (6.3) → 5 (5.4); a drop counts even when "
             "app-limited",
             aimd(10, 1, 100),
             [(ms100, 10, True, "drop"), (ms100, 9, True, "drop"), (ms100, 1, True, "drop"),
              (ms100, 7, True, "drop"), (ms100, 0, True, "drop"), (ms100, 5, False, "grow")]),
        case("aimd: backoff truncates a product just below an integer",
             "90 × 0.7 is 62.99999999999999 in doubles: (int) gives 62, not 63", aimd(90, 1, 100, 0.7),
             [(ms100, 45, True, "drop"), (ms100, 31, False, "grow"), (ms100, 1, True, "drop")]),
        case("aimd: timeout", "a round trip above the timeout (strictly) is a drop; at the timeout it is not",
             aimd(10, 1, 100, 0.5, S),
             [(S, 5, False, "grow"), (S + 1, 5, False, "timeout"), (S + 1, 0, False, "timeout"),
              (S, 0, False, "app-limited"), (10 * S, 2, False, "timeout")]),
        case("aimd: clamped at the minimum", "min 5: 5 × 0.9 → 4 is raised to 5", aimd(6, 5, 100),
             [(ms100, 6, True, "drop"), (ms100, 6, True, "drop+clamped"), (ms100, 1, True, "drop+clamped")]),
        case("aimd: clamped at the maximum", "max 12: the limit stops at 12", aimd(10, 1, 12),
             [(ms100, 10, False, "grow"), (ms100, 10, False, "grow"), (ms100, 10, False, "grow+clamped"),
              (ms100, 20, False, "grow+clamped"), (ms100, 20, True, "drop")]),
        case("aimd: Netflix defaults", "20/20/200, 0.9, 5 s: a drop at 20 stays at the minimum 20",
             aimd(),
             [(ms100, 10, False, "grow"), (ms100, 11, True, "drop+clamped"), (6 * S, 10, False, "timeout+clamped"),
              (ms100, 10, False, "grow"), (ms100, 10, False, "app-limited"), (ms100, 11, False, "grow")]),
        case("aimd: backoff ratio 0.5 on odd limits",
             "7 → 3 → 1 (7 × 0.5 = 3.5, 3 × 0.5 = 1.5), then 1 × 0.5 = 0.5 → 0, raised to the minimum 1",
             aimd(7, 1, 50, 0.5),
             [(ms100, 7, True, "drop"), (ms100, 7, True, "drop"), (ms100, 7, True, "drop+clamped"),
              (ms100, 1, False, "grow"), (ms100, 1, False, "grow")]),
    ]


def vegas_cases():
    ms = MS
    return [
        case("vegas: the first sample sets the no-load round trip",
             "rtt_noload is 0 at first: the first sample sets it, even dropped; the limit stays",
             vegas(seed=1),
             [(100 * ms, 20, True, "no-load"), (100 * ms, 20, False, "beta q=0")]),
        case("vegas: no queue adds beta", "queueSize 0 <= threshold 1: +beta (6)", vegas(seed=2),
             [(100 * ms, 10, False, "no-load"), (100 * ms, 10, False, "beta q=0"), (101 * ms, 13, False, "beta q=1")]),
        case("vegas: a small queue adds log10root",
             "26 × (1 − 100/106.4) = 1.56: queueSize 2, above the threshold 1 and below alpha 3: +1",
             vegas(26, seed=3),
             [(100 * ms, 13, False, "no-load"), (106_400_000, 13, False, "increase q=2")]),
        case("vegas: a queue above beta subtracts log10root", "queueSize 10 > beta 6: −1", vegas(seed=4),
             [(100 * ms, 20, False, "no-load"), (200 * ms, 10, False, "decrease q=10"),
              (200 * ms, 10, False, "decrease q=10")]),
        case("vegas: queue-size boundaries",
             "at limit 20 over 100 ms: 105 ms gives 1 (= threshold: +beta), 115 ms 3 (= alpha) and 140 ms 6 "
             "(= beta) are the sweet spot, 150 ms 7 decreases; at 26, 115 ms gives 4",
             vegas(seed=5),
             [(100 * ms, 20, False, "no-load"), (115 * ms, 10, False, "sweet q=3"),
              (140 * ms, 10, False, "sweet q=6"), (150 * ms, 10, False, "decrease q=7"),
              (105 * ms, 10, False, "beta q=1"), (115 * ms, 13, False, "sweet q=4")]),
        case("vegas: queue size computed in doubles",
             "7 × (1 − 90/105) is 1 exactly but 1.0000000000000004 in doubles: ceil gives 2, above the "
             "threshold 1: +1 (not +beta)",
             vegas(7, seed=6),
             [(90 * ms, 7, False, "no-load"), (105 * ms, 7, False, "increase q=2")]),
        case("vegas: sweet spot", "alpha 3 <= queueSize <= beta 6: unchanged", vegas(seed=7),
             [(100 * ms, 20, False, "no-load"), (120 * ms, 20, False, "sweet q=4"),
              (130 * ms, 20, False, "sweet q=5")]),
        case("vegas: app-limited", "inflight × 2 < estimatedLimit: unchanged, whatever the queue; 10 × 2 = 20 is not",
             vegas(seed=8),
             [(100 * ms, 20, False, "no-load"), (100 * ms, 9, False, "app-limited q=0"),
              (300 * ms, 1, False, "app-limited q=14"), (100 * ms, 10, False, "beta q=0")]),
        case("vegas: drop", "a drop subtracts log10root, also when app-limited", vegas(seed=9),
             [(100 * ms, 20, False, "no-load"), (100 * ms, 20, True, "drop q=0"), (500 * ms, 1, True, "drop q=16"),
              (100 * ms, 0, True, "drop q=0")]),
        case("vegas: a new minimum", "a round trip below rtt_noload replaces it and changes nothing else, even dropped",
             vegas(seed=10),
             [(100 * ms, 20, False, "no-load"), (80 * ms, 20, True, "no-load"), (80 * ms, 20, False, "beta q=0"),
              (110 * ms, 13, False, "decrease q=8"), (1, 13, False, "no-load"), (2, 13, False, "decrease q=13")]),
        case("vegas: probes with probeMultiplier 1",
             "probe when jitter × 1 × estimatedLimit <= probeCount: the 7th and the 14th samples probe, setting "
             "rtt_noload to their round trip (upward: 150 ms, then 200 ms), with probeCount 0 and a new jitter",
             vegas(4, probe=1, seed=11),
             [(100 * ms, 4, False, "no-load"), (100 * ms, 4, False, "beta q=0"), (150 * ms, 4, False, "app-limited q=4"),
              (150 * ms, 8, False, "sweet q=4"), (150 * ms, 8, False, "sweet q=4"), (150 * ms, 8, False, "sweet q=4"),
              (150 * ms, 8, False, "probe")] + [(200 * ms, 8, False)] * 10),
        case("vegas: fixed alpha and beta",
             "alpha 4, beta 5 (threshold still log10root): +5 up to 1, +1 at 2 and 3, 4 and 5 the sweet spot, "
             "6 and more −1",
             vegas(seed=12, alpha=4, beta=5),
             [(100 * ms, 20, False, "no-load"), (100 * ms, 20, False, "beta q=0"),
              (108 * ms, 20, False, "increase q=2"), (112 * ms, 20, False, "increase q=3"),
              (116 * ms, 20, False, "sweet q=4"), (120 * ms, 20, False, "sweet q=5"),
              (125 * ms, 20, False, "decrease q=6"), (103 * ms, 20, False, "beta q=1")]),
        case("vegas: only beta fixed", "beta 10, alpha the default 3 × log10root", vegas(seed=13, beta=10),
             [(100 * ms, 20, False, "no-load"), (100 * ms, 20, False, "beta q=0"), (140 * ms, 20, False, "sweet q=9")]),
        case("vegas: smoothing 0.5", "the estimate moves half way: (1 − 0.5) × e + 0.5 × new", vegas(seed=14, smoothing=0.5),
             [(100 * ms, 20, False, "no-load"), (100 * ms, 20, False, "beta q=0"), (100 * ms, 20, False, "beta q=0"),
              (300 * ms, 20, False, "decrease q=18"), (300 * ms, 20, True, "drop q=18")]),
        case("vegas: smoothing 0.3", "fractions of a call accumulate in estimatedLimit", vegas(7, seed=15, smoothing=0.3),
             [(33 * ms, 7, False, "no-load"), (33 * ms, 7, False, "beta q=0"), (34 * ms, 7, False, "beta q=1"),
              (37 * ms, 7, False, "increase q=2"), (80 * ms, 7, False, "decrease q=7")]),
        case("vegas: limits of 100 and more", "log10root is 2: alpha 6, beta 12, threshold 2, ±2",
             vegas(150, seed=16),
             [(100 * ms, 150, False, "no-load"), (100 * ms, 150, False, "beta q=0"), (102 * ms, 150, False, "increase q=4"),
              (104 * ms, 150, False, "sweet q=7"), (120 * ms, 150, False, "decrease q=28"), (100 * ms, 150, True, "drop q=0")]),
        case("vegas: crossing 100", "99 + 6 (log10root 1) = 105, then + 12 (log10root 2); drops −2",
             vegas(99, seed=17),
             [(100 * ms, 99, False, "no-load"), (100 * ms, 99, False, "beta q=0"), (100 * ms, 99, False, "beta q=0"),
              (100 * ms, 99, True, "drop q=0"), (100 * ms, 99, True, "drop q=0")]),
        case("vegas: limits of 1000 and more", "log10root is 3 from 1000 on (Math.log10, past the table): threshold 3, alpha 9, beta 18, ±3",
             vegas(1500, maximum=5000, seed=18),
             [(100 * ms, 1500, False, "no-load"), (100 * ms, 1500, False, "beta q=0"), (100 * ms, 1500, True, "drop q=0"),
              (100_100_000, 1500, False, "beta q=2"), (100_300_000, 1500, False, "increase q=5"),
              (100_800_000, 1500, False, "sweet q=13"), (102 * ms, 1500, False, "decrease q=31")]),
        case("vegas: clamped at the maximum", "max 24: 20 + 6 and 24 + 6 give 24",
             vegas(20, maximum=24, seed=19),
             [(100 * ms, 20, False, "no-load"), (100 * ms, 20, False, "beta q=0"), (100 * ms, 20, False, "beta q=0"),
              (100 * ms, 20, True, "drop q=0")]),
        case("vegas: clamped at 1", "from 1 a drop gives 0, raised to 1", vegas(1, maximum=10, seed=20),
             [(100 * ms, 1, False, "no-load"), (100 * ms, 1, True, "drop q=0"), (100 * ms, 1, False, "beta q=0")]),
    ]


def gradient2_cases():
    ms = MS
    warm = [(100 * ms, 20, False)] * 10
    return [
        case("gradient2: warm-up mean", "the long round trip is the mean of the first 10 samples",
             gradient2(),
             [(100 * ms, 20, False), (300 * ms, 20, False), (200 * ms, 20, False), (900 * ms, 20, False),
              (150 * ms, 20, False), (400 * ms, 20, False), (250 * ms, 20, False), (700 * ms, 20, False),
              (130 * ms, 20, False), (500 * ms, 20, False)]),
        case("gradient2: exponential average after 10 samples",
             "from the 11th sample long = long × (1 − 2/601) + rtt × 2/601", gradient2(),
             warm + [(200 * ms, 20, False), (300 * ms, 20, False), (123_456_789, 20, False)]),
        case("gradient2: exponential average, long window 10", "factor 2/11", gradient2(window=10),
             warm + [(130 * ms, 20, False), (160 * ms, 20, False), (190 * ms, 20, False), (220 * ms, 20, False)]),
        case("gradient2: the 5 % decay when long/short > 2",
             "after 10 × 100 ms, 5 samples of 30 ms each cut the long round trip by 5 %; a 200 ms sample then shows it",
             gradient2(),
             warm + [(30 * ms, 20, False, "decay gradient 1")] * 5 + [(200 * ms, 20, False, "gradient between")]),
        case("gradient2: a decay while warming up is overwritten",
             "the 0.95 factor changes the value, not the sum: the next warm-up mean forgets it",
             gradient2(),
             [(100 * ms, 20, False, "gradient 1"), (10 * ms, 20, False, "decay gradient 1"),
              (200 * ms, 20, False, "gradient between")]),
        case("gradient2: app-limited", "inflight < estimatedLimit / 2: unchanged (the long round trip still moves); "
             "10 is not below 20 / 2", gradient2(),
             [(100 * ms, 9, False, "app-limited"), (100 * ms, 10, False, "gradient 1"),
              (100 * ms, 10, False, "app-limited"), (20 * ms, 0, True, "decay app-limited")]),
        case("gradient2: the gradient clamps at 1 and 0.5",
             "warm-up app-limited (20 < 60 / 2); then tolerance × long / short above 1 counts as 1, below 0.5 as 0.5",
             gradient2(60, 1, 200),
             warm + [(120 * ms, 40, False, "gradient 1"), (200 * ms, 40, False, "gradient between"),
                     (2 * S, 40, False, "gradient 0.5"), (2 * S, 40, True, "gradient 0.5")]),
        case("gradient2: clamped at the minimum", "min 20 (warm-up app-limited): 20 × 0.5 + 4 smoothed is 18.8, raised to 20",
             gradient2(),
             [(100 * ms, 5, False, "app-limited")] * 10 +
             [(2 * S, 20, False, "gradient 0.5 clamped min"), (40 * ms, 20, False, "decay gradient 1")]),
        case("gradient2: clamped at the maximum", "max 200: 200 + 4 smoothed is 200.8, lowered to 200",
             gradient2(200),
             [(100 * ms, 100, False, "gradient 1 clamped max"), (100 * ms, 100, False, "gradient 1 clamped max")]),
        case("gradient2: smoothing 1", "the new estimate replaces the old: estimated × gradient + 4",
             gradient2(50, 1, 1000, smoothing=1.0),
             warm + [(100 * ms, 25, False, "gradient 1"), (200 * ms, 27, False, "gradient between"),
                     (1200 * ms, 50, False, "gradient 0.5")]),
        case("gradient2: queue size 10, tolerance 2", "non-default queue size and tolerance",
             gradient2(30, 5, 300, smoothing=0.5, queue=10, tolerance=2.0, window=100),
             warm + [(150 * ms, 30, False), (190 * ms, 30, False), (500 * ms, 30, False), (50 * ms, 30, False)]),
    ]


# --- Seeded random traces ----------------------------------------------------------------------

def random_case(name, note, config, seed, steps=300):
    """Round trips around a drifting base (1 ms to 1 s) times 1 to 1.6, clamped to 1 ms .. 2 s,
    sometimes exactly the base; spikes of 3 to 20 times the base (up to 20 s); inFlight 1 to
    2 × the limit; 5 % dropped."""
    rng = random.Random(seed)
    model = MODELS[config["type"]](config)
    base, out = rng.uniform(5 * MS, 200 * MS), []
    for _ in range(steps):
        if rng.random() < 0.03:
            base = rng.uniform(1 * MS, 1 * S)
        else:
            base = min(1.0 * S, max(1.0 * MS, base * rng.uniform(0.95, 1.05)))
        roll = rng.random()
        if roll < 0.04:
            rtt = int(base * rng.uniform(3, 20))
        elif roll < 0.14:
            rtt = int(base)
        else:
            rtt = min(2 * S, max(MS, int(base * rng.uniform(1.0, 1.6))))
        inflight = rng.randint(1, 2 * model.limit)
        dropped = rng.random() < 0.05
        figures, _ = model.sample(rtt, inflight, dropped)
        out.append({"roundTrip": rtt, "inFlight": inflight, "dropped": dropped, **figures})
    return {"name": name, "note": note, "config": config, "steps": out}


def random_cases():
    return [
        random_case("aimd: random trace, Netflix defaults", "seed 101", aimd(), 101),
        random_case("aimd: random trace, 5..60, ratio 0.75, timeout 1.5 s", "seed 102",
                    aimd(30, 5, 60, 0.75, 1_500 * MS), 102),
        random_case("aimd: random trace, 1..1000, ratio 0.5, timeout 1 s", "seed 103", aimd(100, 1, 1000, 0.5, S), 103),
        random_case("vegas: random trace, Netflix defaults", "seed 201; jitter seed 42",
                    vegas(seed=42), 201),
        random_case("vegas: random trace, probes every few samples, smoothing 0.5",
                    "seed 202; probeMultiplier 2, maximum 200, jitter seed 0", vegas(10, 200, 0.5, 2, 0), 202),
        random_case("vegas: random trace, fixed alpha and beta, from 120",
                    "seed 203; alpha 4, beta 9, initial 120, probeMultiplier 5, jitter seed 0x0123456789ABCDEF",
                    vegas(120, 2000, 0.8, 5, 0x0123456789ABCDEF, alpha=4, beta=9), 203),
        random_case("gradient2: random trace, Netflix defaults", "seed 301", gradient2(), 301),
        random_case("gradient2: random trace, 1..100, smoothing 1, queue 2", "seed 302; long window 50",
                    gradient2(10, 1, 100, 1.0, 2, 1.0, 50), 302),
        random_case("gradient2: random trace, 5..500, smoothing 0.5, queue 6", "seed 303; tolerance 2, long window 100",
                    gradient2(50, 5, 500, 0.5, 6, 2.0, 100), 303),
    ]


def all_cases():
    return aimd_cases() + vegas_cases() + gradient2_cases() + random_cases()


def write():
    cases = all_cases()
    document = {"algorithm": "adaptive-limits",
                "description": "Netflix concurrency-limits' AIMD, Vegas and Gradient2 limits, sample by sample: "
                               "the limit after each (round trip, in flight, dropped) sample; Vegas' probe jitter "
                               "from SplitMix64 seeded by the config's seed.",
                "units": "round trips in nanoseconds; limits in calls",
                "generatedBy": "Tests/Vectors/adaptive.py", "cases": cases}
    out = HERE / "adaptive.json"
    dump(document, out, steps=["steps"])
    print(f"wrote {out.name}: {len(cases)} cases, {sum(len(c['steps']) for c in cases)} steps")


if __name__ == "__main__":
    write()
