"""The hand-written cases of every vector file: name, note, configuration and trace.

A trace is a list of inputs: A(at, cost) acquires (cost 0 is a probe), R(at, cost, admittedAt)
refunds part of an admission, F(at, cost) releases (concurrency), C(at, cost) charges. The
expected figures are not here: generate.py asks models.py for them.
"""

S = 1_000_000_000
MIN = 60 * S
DAY = 24 * 3_600 * S


def A(at, cost):
    return ("acquire", at, cost)


def R(at, cost, admitted_at):
    return ("refund", at, cost, admitted_at)


def F(at, cost, admitted_at=0):
    return ("release", at, cost, admitted_at)


def C(at, cost):
    return ("charge", at, cost)


def case(name, note, config, trace):
    return {"name": name, "note": note, "config": config, "trace": trace}


def tb(capacity, refill, period, initial):
    return {"capacity": capacity, "refillAmount": refill, "refillPeriodNanoseconds": period, "initialTokens": initial}


HAND = {}

# The token bucket's first cases, written before the file had other operations: their steps
# carry no "op" and must stay byte-identical.
HAND["token-bucket"] = [
    case("40 per minute: burst, then one every 1.5 s",
         "the 41st call waits exactly 1.5 s; one nanosecond less is not enough", tb(40, 40, MIN, None),
         [A(0, 1)] * 41 + [A(1_500_000_000 - 1, 1), A(1_500_000_000, 1), A(1_500_000_000, 1), A(3_000_000_000, 1)]),
    case("3 per second: a token every 333,333,333.3 ns, no drift",
         "fractions of a nanosecond are carried, not rounded away, even an hour later", tb(3, 3, S, None),
         [A(0, 3), A(333_333_333, 1), A(333_333_334, 1), A(666_666_666, 1), A(666_666_667, 1),
          A(1_000_000_000, 1), A(3_600 * S, 3), A(3_600 * S + 333_333_333, 1), A(3_600 * S + 333_333_334, 1)]),
    case("7 per second, capacity 5 (a rate with no common factor)", "calls every 97 ms against 142.857 ms per token",
         tb(5, 7, S, 0), [A(i * 97_000_003, 1) for i in range(60)]),
    case("tokens per minute: costs above one", "an LLM call costs its token count; a cost of zero is a probe",
         tb(10_000, 10_000, MIN, None),
         [A(0, 1_200), A(0, 5_000), A(0, 4_000), A(0, 3_800), A(10 * S, 500), A(30 * S, 4_000), A(30 * S, 0)]),
    case("starts empty", "initialTokens 0", tb(10, 1, S, 0),
         [A(0, 1), A(999_999_999, 1), A(S, 1), A(S, 1), A(5 * S, 4), A(5 * S, 1)]),
    case("idle for days caps at capacity", "no more than capacity however long the idle time", tb(5, 1, S, 2),
         [A(0, 2), A(10 * DAY, 5), A(10 * DAY, 1)]),
    case("clock going backwards counts from the latest reading",
         "a step earlier than the last is evaluated at the last; retry-after counts from its own time", tb(4, 1, S, 0),
         [A(2 * S, 2), A(S, 1), A(S, 0), A(3 * S, 1)]),
    case("one million tokens per minute", "one token every 60 ns", tb(1_000_000, 1_000_000, MIN, None),
         [A(0, 999_999), A(0, 2), A(59, 1), A(60, 1), A(60, 1), A(120, 1)]),
    case("a prime refill amount", "999,983 tokens per second: units per token 1e9, units per ns 999,983",
         tb(1_000, 999_983, S, 0), [A(i * 1_001, 1) for i in range(40)]),
    # (the four seeded random traces of the first file come here: see generate.py)
]

HAND["token-bucket (refunds and charges)"] = [
    case("refund gives back exactly what was taken", "8 taken, 5 given back: 7 may be taken at once",
         tb(10, 1, S, None), [A(0, 8), R(0, 5, 0), A(0, 7), A(0, 1), A(0, 0)]),
    case("a refund after the bucket refilled stays at capacity", "as if the admission had taken less",
         tb(10, 1, S, None),
         [A(0, 5), A(3 * S, 0), R(10 * S, 5, 0), A(10 * S, 0), A(10 * S, 10), A(10 * S, 1)]),
    case("debt is paid first, and capped at one capacity", "a charge of 25 leaves -10 tokens, not -15",
         tb(10, 10, S, None),
         [A(0, 10), C(0, 25), A(0, 0), A(0, 1), A(1_099_999_999, 1), A(1_100_000_000, 1), A(3 * S, 0)]),
    case("a refund partly cancels debt", "a refund of 4 after a charge of 6 on an empty bucket",
         tb(5, 1, S, 0), [C(0, 6), A(0, 0), R(0, 4, 0), A(0, 0), A(2 * S, 1), A(3 * S, 1)]),
    case("fractional refill across refunds and charges", "3 per second, units carried exactly",
         tb(3, 3, S, None),
         [A(0, 3), C(1, 2), A(333_333_333, 0), R(666_666_667, 1, 0), A(666_666_667, 1), A(S, 1), A(1_333_333_334, 1)]),
]

HAND["leaky-bucket-meter"] = [
    case("a burst fills the bucket; the next unit fits after one drains", "capacity 10, 2 per second",
         {"capacity": 10, "drainAmount": 2, "drainPeriodNanoseconds": 1_000_000_000, "initialLevel": None},
         [
        A(0, 8), A(0, 5), A(0, 2), A(499_999_999, 1), A(500_000_000, 1), A(500_000_000, 1),
    ]),
    case("starts half full", "initialLevel 5",
         {"capacity": 10, "drainAmount": 1, "drainPeriodNanoseconds": 1_000_000_000, "initialLevel": 5},
         [
        A(0, 0), A(0, 5), A(0, 1), A(999_999_999, 1), A(1_000_000_000, 1), A(20_000_000_000, 10),
    ]),
    case("3 per second drains without drift for an hour", "fractions carried",
         {"capacity": 3, "drainAmount": 3, "drainPeriodNanoseconds": 1_000_000_000, "initialLevel": None},
         [
        A(0, 3), A(333_333_333, 1), A(333_333_334, 1), A(3_600_000_000_000, 3),
        A(3_600_333_333_334, 1),
    ]),
    case("tokens per minute: costs in the thousands", "an LLM budget as a meter",
         {"capacity": 90_000, "drainAmount": 90_000, "drainPeriodNanoseconds": 60_000_000_000, "initialLevel": None},
         [
        A(0, 40_000), A(0, 40_000), A(0, 20_000), A(10_000_000_000, 15_000), A(30_000_000_000, 0),
    ]),
    case("refunds drain, charges overflow up to twice the capacity", "refund 3, charge 30 capped at 20",
         {"capacity": 10, "drainAmount": 1, "drainPeriodNanoseconds": 1_000_000_000, "initialLevel": None},
         [
        A(0, 6), R(0, 3, 0), A(0, 0), C(0, 30), A(0, 0), A(0, 1), A(11_000_000_000, 1),
        A(20_000_000_000, 10),
    ]),
    case("a reading from the past is read as the latest", "lag added to durations",
         {"capacity": 4, "drainAmount": 1, "drainPeriodNanoseconds": 1_000_000_000, "initialLevel": None},
         [
        A(2_000_000_000, 4), A(1_000_000_000, 1), A(1_000_000_000, 0), A(3_000_000_000, 1),
    ]),
    case("idle for days empties the bucket and no more", "level never below 0",
         {"capacity": 5, "drainAmount": 1, "drainPeriodNanoseconds": 1_000_000_000, "initialLevel": 5},
         [
        A(0, 0), A(864_000_000_000_000, 5), A(864_000_000_000_000, 1),
    ]),
    case("a prime drain amount", "999,983 per second",
         {"capacity": 1000, "drainAmount": 999_983, "drainPeriodNanoseconds": 1_000_000_000, "initialLevel": 1000},
         [A(i * 1_001, 1) for i in range(40)]),
]

HAND["leaky-bucket-shaper"] = [
    case("40 per minute: one release every 1.5 s", "the next slot 1 ns early is refused",
         {"rate": 40, "periodNanoseconds": 60_000_000_000, "maximumCost": 1},
         [
        A(0, 1), A(0, 1), A(1_499_999_999, 1), A(1_500_000_000, 1), A(2_000_000_000, 0),
        A(3_000_000_000, 1),
    ]),
    case("3 per second releases on the exact grid, no drift", "each release at ceil(k/3 s)",
         {"rate": 3, "periodNanoseconds": 1_000_000_000, "maximumCost": 1},
         [
        A(0, 1), A(333_333_334, 1), A(666_666_667, 1), A(1_000_000_000, 1), A(1_333_333_334, 1),
        A(1_666_666_667, 1), A(2_000_000_000, 1), A(2_333_333_334, 1), A(2_666_666_667, 1),
        A(3_000_000_000, 1), A(3_333_333_334, 1), A(3_666_666_667, 1), A(3_600_000_000_000, 1),
        A(3_600_333_333_333, 1), A(3_600_333_333_334, 1),
    ]),
    case("an idle gap restarts the grid at the next release", "no burst is banked",
         {"rate": 10, "periodNanoseconds": 1_000_000_000, "maximumCost": 1},
         [
        A(0, 1), A(100_000_000, 1), A(5_000_000_007, 1), A(5_000_000_007, 1), A(5_100_000_007, 1),
    ]),
    case("costs above one space the next release", "cost 5 at 10 per second holds the next 500 ms",
         {"rate": 10, "periodNanoseconds": 1_000_000_000, "maximumCost": 5},
         [
        A(0, 5), A(0, 1), A(499_999_999, 1), A(500_000_000, 3), A(800_000_000, 1),
    ]),
    case("refund pulls the schedule back, never before now", "then charge pushes it, capped",
         {"rate": 10, "periodNanoseconds": 1_000_000_000, "maximumCost": 2},
         [
        A(0, 2), R(0, 1, 0), A(0, 0), A(100_000_000, 1), C(100_000_000, 50), A(100_000_000, 0),
        A(500_000_000, 1),
    ]),
    case("a reading from the past", "lag added",
         {"rate": 1, "periodNanoseconds": 1_000_000_000, "maximumCost": 1},
         [
        A(2_000_000_000, 1), A(1_000_000_000, 1), A(1_000_000_000, 0), A(3_000_000_000, 1),
    ]),
    case("a prime rate", "999,983 per second",
         {"rate": 999_983, "periodNanoseconds": 1_000_000_000, "maximumCost": 1},
         [A(i * 3, 1) for i in range(40)]),
    case("7 per second across many slots", "fraction of a nanosecond carried",
         {"rate": 7, "periodNanoseconds": 1_000_000_000, "maximumCost": 1},
         [A(-(-k * 1_000_000_000 // 7), 1) for k in range(100)]),
]

HAND["gcra"] = [
    case("40 per minute, burst 40", "the 41st waits exactly 1.5 s",
         {"rate": 40, "periodNanoseconds": 60_000_000_000, "burst": 40},
         [A(0, 1)] * 41 + [A(1_499_999_999, 1), A(1_500_000_000, 1)]),
    case("3 per second, burst 3", "no drift an hour later",
         {"rate": 3, "periodNanoseconds": 1_000_000_000, "burst": 3},
         [
        A(0, 3), A(333_333_333, 1), A(333_333_334, 1), A(3_600_000_000_000, 3),
        A(3_600_333_333_334, 1),
    ]),
    case("burst smaller than rate", "100 per second, burst 5",
         {"rate": 100, "periodNanoseconds": 1_000_000_000, "burst": 5},
         [
        A(0, 5), A(0, 1), A(9_999_999, 1), A(10_000_000, 1), A(50_000_000, 5),
    ]),
    case("costs in the thousands", "90,000 per minute",
         {"rate": 90_000, "periodNanoseconds": 60_000_000_000, "burst": 90_000},
         [
        A(0, 50_000), A(0, 40_000), A(0, 1), A(10_000_000_000, 15_000), A(30_000_000_000, 0),
    ]),
    case("refund and charge", "TAT moved back and forward, capped at two bursts",
         {"rate": 10, "periodNanoseconds": 1_000_000_000, "burst": 10},
         [
        A(0, 10), R(0, 4, 0), A(0, 4), C(0, 100), A(0, 0), A(1_999_999_999, 1),
        A(2_100_000_000, 1),
    ]),
    case("a reading from the past", "lag added",
         {"rate": 1, "periodNanoseconds": 1_000_000_000, "burst": 4},
         [
        A(2_000_000_000, 2), A(1_000_000_000, 1), A(1_000_000_000, 0), A(3_000_000_000, 1),
    ]),
    case("a prime rate", "999,983 per second",
         {"rate": 999_983, "periodNanoseconds": 1_000_000_000, "burst": 1000},
         [A(i * 1_001, 1) for i in range(40)]),
    case("idle for days", "full burst again", {"rate": 1, "periodNanoseconds": 1_000_000_000, "burst": 5}, [
        A(0, 5), A(864_000_000_000_000, 5), A(864_000_000_000_000, 1),
    ]),
]

HAND["fixed-window"] = [
    case("the count resets at the boundary nanosecond", "3 per second",
         {"limit": 3, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(0, 1), A(0, 2), A(0, 1), A(999_999_999, 1), A(1_000_000_000, 3), A(1_000_000_000, 1),
        A(1_999_999_999, 0),
    ]),
    case("an epoch after creation", "windows start at 0.25 s and every second from it",
         {"limit": 5, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 250_000_000},
         [
        A(0, 5), A(100_000_000, 1), A(249_999_999, 1), A(250_000_000, 5), A(1_249_999_999, 1),
        A(1_250_000_000, 1),
    ]),
    case("a negative epoch", "windows aligned to -0.7 s",
         {"limit": 2, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": -700_000_000},
         [
        A(0, 2), A(299_999_999, 1), A(300_000_000, 2), A(1_300_000_000, 2),
    ]),
    case("a far epoch", "readings long before it fall in negative windows",
         {"limit": 4, "windowNanoseconds": 10_000_000_000, "epochNanoseconds": 1_000_000_000_000},
         [
        A(0, 4), A(1, 1), A(9_999_999_999, 1), A(10_000_000_000, 4),
    ]),
    case("tokens per minute", "costs in the thousands",
         {"limit": 90_000, "windowNanoseconds": 60_000_000_000, "epochNanoseconds": 0},
         [
        A(0, 50_000), A(0, 40_000), A(0, 1), A(30_000_000_000, 0), A(60_000_000_000, 90_000),
    ]),
    case("refund in the window, not after it", "a refund of an earlier window changes nothing",
         {"limit": 10, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(0, 8), R(100, 5, 0), A(100, 0), A(1_000_000_000, 3), R(1_000_000_001, 3, 0),
        A(1_000_000_001, 0), R(1_000_000_002, 2, 1_000_000_000), A(1_000_000_002, 0),
    ]),
    case("charges are debt until the window ends, capped at twice the limit", "charge 50 counts 20",
         {"limit": 10, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(0, 5), C(0, 50), A(0, 0), A(999_999_999, 1), A(1_000_000_000, 10),
    ]),
    case("a reading from the past", "lag added",
         {"limit": 2, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(1_500_000_000, 2), A(1_000_000_000, 1), A(1_000_000_000, 0), A(2_000_000_000, 1),
    ]),
]

HAND["sliding-window-log"] = [
    case("an entry leaves exactly at time + window", "3 per second",
         {"limit": 3, "windowNanoseconds": 1_000_000_000},
         [
        A(0, 1), A(100, 1), A(200, 1), A(500, 1), A(999_999_999, 1), A(1_000_000_000, 1),
        A(1_000_000_099, 1), A(1_000_000_100, 1),
    ]),
    case("many entries at the same reading", "costs add up in one entry",
         {"limit": 10, "windowNanoseconds": 1_000_000_000},
         [
        A(0, 3), A(0, 3), A(0, 3), A(0, 2), A(0, 1), A(500, 1), A(999_999_999, 1),
        A(1_000_000_000, 10),
    ]),
    case("retry-after walks the oldest entries until enough leaves", "need 4 of 2+1+3",
         {"limit": 6, "windowNanoseconds": 10_000_000_000},
         [
        A(0, 2), A(1_000_000_000, 1), A(2_000_000_000, 3), A(3_000_000_000, 4),
        A(10_999_999_999, 4), A(11_000_000_000, 3), A(12_000_000_000, 4),
    ]),
    case("tokens per minute", "costs in the thousands",
         {"limit": 90_000, "windowNanoseconds": 60_000_000_000},
         [
        A(0, 50_000), A(10_000_000_000, 40_000), A(20_000_000_000, 1), A(60_000_000_000, 1),
        A(70_000_000_000, 50_000),
    ]),
    case("refunds remove from the entry of the admission", "partial and whole",
         {"limit": 10, "windowNanoseconds": 1_000_000_000},
         [
        A(0, 4), A(100, 4), R(200, 4, 0), A(200, 0), R(300, 1, 100), A(300, 0),
        R(2_000_000_000, 3, 100), A(2_000_000_000, 0),
    ]),
    case("charges are logged up to twice the limit", "debt leaves with its entry",
         {"limit": 10, "windowNanoseconds": 1_000_000_000},
         [
        A(0, 4), C(300, 30), A(400, 0), A(400, 1), A(1_000_000_300, 10),
    ]),
    case("a reading from the past", "lag added", {"limit": 2, "windowNanoseconds": 1_000_000_000}, [
        A(1_500_000_000, 2), A(1_000_000_000, 1), A(1_000_000_000, 0), A(3_000_000_000, 1),
    ]),
    case("idle for days", "everything has left", {"limit": 5, "windowNanoseconds": 1_000_000_000}, [
        A(0, 5), A(86_400_000_000_000, 5),
    ]),
]

HAND["sliding-window-counter"] = [
    case("the previous window's weight decays", "10 per second",
         {"limit": 10, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(0, 10), A(1_000_000_000, 1), A(1_100_000_000, 1), A(1_500_000_000, 5),
        A(1_500_000_000, 1), A(1_900_000_000, 0),
    ]),
    case("retry-after moves into the next window", "the current count becomes the previous one",
         {"limit": 10, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(0, 4), A(900_000_000, 6), A(950_000_000, 1), A(1_200_000_000, 0), A(1_600_000_001, 1),
    ]),
    case("retry-after in the window after next", "both counts gone",
         {"limit": 10, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(0, 10), A(999_999_999, 0), A(1_000_000_000, 10), A(1_000_000_000, 10),
        A(3_000_000_000, 10),
    ]),
    case("windows skipped", "a long gap forgets both counts",
         {"limit": 5, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 300},
         [
        A(0, 5), A(10_000_000_000, 5), A(10_000_000_000, 1),
    ]),
    case("an epoch and costs", "tokens per minute",
         {"limit": 90_000, "windowNanoseconds": 60_000_000_000, "epochNanoseconds": 7_000_000_000},
         [
        A(0, 50_000), A(8_000_000_000, 60_000), A(30_000_000_000, 20_000),
        A(67_000_000_000, 30_000), A(100_000_000_000, 1),
    ]),
    case("refunds to the current and the previous window", "and not to older ones",
         {"limit": 10, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(0, 6), A(1_000_000_000, 3), R(1_000_000_001, 4, 0), A(1_000_000_001, 0),
        R(1_000_000_002, 2, 1_000_000_000), A(1_000_000_002, 0),
        R(3_000_000_000, 1, 1_000_000_000), A(3_000_000_000, 0),
    ]),
    case("charges capped at twice the limit", "debt in the current count",
         {"limit": 10, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        C(0, 50), A(0, 0), A(0, 1), A(2_000_000_000, 1),
    ]),
    case("a reading from the past", "lag added",
         {"limit": 4, "windowNanoseconds": 1_000_000_000, "epochNanoseconds": 0},
         [
        A(1_500_000_000, 4), A(1_000_000_000, 1), A(1_000_000_000, 0), A(3_000_000_000, 1),
    ]),
]

HAND["segmented-window"] = [
    case("12 segments of 5 s: a segment leaves whole", "tokens per minute",
         {"limit": 90_000, "windowNanoseconds": 60_000_000_000, "segments": 12, "epochNanoseconds": 0},
         [
        A(2_000_000_000, 50_000), A(7_000_000_000, 30_000), A(30_000_000_000, 20_000),
        A(59_999_999_999, 20_000), A(60_000_000_000, 20_000), A(61_000_000_000, 0),
        A(64_999_999_999, 60_000), A(65_000_000_000, 60_000),
    ]),
    case("one segment is the fixed window", "N = 1",
         {"limit": 3, "windowNanoseconds": 1_000_000_000, "segments": 1, "epochNanoseconds": 0},
         [
        A(0, 3), A(999_999_999, 1), A(1_000_000_000, 3), A(1_000_000_000, 1),
    ]),
    case("retry-after at each segment boundary", "4 segments of 250 ms",
         {"limit": 8, "windowNanoseconds": 1_000_000_000, "segments": 4, "epochNanoseconds": 0},
         [
        A(0, 2), A(250_000_000, 2), A(500_000_000, 2), A(750_000_000, 2), A(800_000_000, 1),
        A(800_000_000, 3), A(800_000_000, 5), A(1_250_000_000, 3),
    ]),
    case("an epoch", "segments aligned to 1 s",
         {"limit": 6, "windowNanoseconds": 6_000_000_000, "segments": 3, "epochNanoseconds": 1_000_000_000},
         [
        A(0, 6), A(999_999_999, 1), A(1_000_000_000, 1), A(2_999_999_999, 1), A(3_000_000_000, 1),
        A(7_000_000_000, 1),
    ]),
    case("refunds to a segment still in the window", "and not to one that left",
         {"limit": 10, "windowNanoseconds": 4_000_000_000, "segments": 4, "epochNanoseconds": 0},
         [
        A(0, 6), A(1_000_000_000, 3), R(2_000_000_000, 4, 0), A(2_000_000_000, 0),
        R(5_000_000_000, 3, 1_000_000_000), A(5_000_000_000, 0), R(9_000_000_000, 2, 0),
        A(9_000_000_000, 0),
    ]),
    case("charges capped at twice the limit", "debt leaves with its segment",
         {"limit": 10, "windowNanoseconds": 4_000_000_000, "segments": 4, "epochNanoseconds": 0},
         [
        A(0, 4), C(1_000_000_000, 30), A(1_000_000_000, 0), A(1_000_000_000, 1),
        A(5_000_000_000, 10),
    ]),
    case("a reading from the past", "lag added",
         {"limit": 2, "windowNanoseconds": 1_000_000_000, "segments": 2, "epochNanoseconds": 0},
         [
        A(1_500_000_000, 2), A(1_000_000_000, 1), A(1_000_000_000, 0), A(3_000_000_000, 1),
    ]),
    case("idle for days", "every segment forgotten",
         {"limit": 5, "windowNanoseconds": 60_000_000_000, "segments": 12, "epochNanoseconds": 0},
         [
        A(0, 5), A(86_400_000_000_000, 5),
    ]),
]

HAND["concurrency"] = [
    case("weighted permits up to the limit", "5 in flight", {"limit": 5}, [
        A(0, 2), A(0, 3), A(0, 1), F(0, 2, 0), A(0, 1), A(0, 0),
    ]),
    case("release beyond what is in flight stops at zero", "", {"limit": 3}, [
        A(0, 2), F(0, 5, 0), A(0, 0), A(0, 3),
    ]),
    case("a charge passes the limit, up to twice it", "", {"limit": 4}, [
        A(0, 3), C(0, 20), A(0, 0), A(0, 1), F(0, 6, 0), A(0, 1),
    ]),
    case("a limit of one", "a mutex", {"limit": 1}, [
        A(0, 1), A(0, 1), F(0, 1, 0), A(0, 1),
    ]),
    case("a cost of the whole limit", "all or nothing for one holder", {"limit": 8}, [
        A(0, 8), A(0, 1), F(0, 7, 0), A(0, 8), A(0, 1), F(0, 1, 0), A(0, 0),
    ]),
    case("many small holders", "fill, release some, refill", {"limit": 6}, [
        A(0, 1), A(0, 1), A(0, 1), A(0, 1), A(0, 1), A(0, 1), A(0, 1), F(0, 3, 0), A(0, 2),
        A(0, 2), F(0, 6, 0), A(0, 6),
    ]),
]

