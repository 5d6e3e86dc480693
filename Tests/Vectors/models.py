"""Reference models of Bulwark's rate-limiting algorithms, in exact rational arithmetic.

Written from the rules in Tests/Vectors/README.md, never from the Swift code: each model is the
README's paragraph turned into Python, with fractions.Fraction wherever a rate divides. A model
answers at an instant T that never goes back (the Driver below keeps that rule for all of them);
durations it returns are counted from T, whole nanoseconds rounded up.
"""
import copy
import math
from fractions import Fraction

FOREVER = 2**63 - 1  # Int64.max: a duration that never elapses


def ceil(x):
    return math.ceil(x)


def floor(x):
    return math.floor(x)


class TokenBucket:
    def __init__(self, c):
        self.cap = c["capacity"]
        self.rate = Fraction(c["refillAmount"], c["refillPeriodNanoseconds"])
        initial = c.get("initialTokens")
        self.tokens = Fraction(self.cap if initial is None else initial)
        self.t = 0
        self.limit = self.cap

    def advance(self, T):
        self.tokens = min(Fraction(self.cap), self.tokens + (T - self.t) * self.rate)
        self.t = T

    def acquire(self, c):
        if self.tokens >= c:
            self.tokens -= c
            return True, 0
        return False, ceil((c - self.tokens) / self.rate)

    def figures(self):
        return max(0, floor(self.tokens)), ceil((self.cap - self.tokens) / self.rate)

    def refund(self, c, admitted_at):
        self.tokens = min(Fraction(self.cap), self.tokens + c)

    def charge(self, c):
        self.tokens = max(Fraction(-self.cap), self.tokens - c)


class LeakyBucketMeter:
    def __init__(self, c):
        self.cap = c["capacity"]
        self.rate = Fraction(c["drainAmount"], c["drainPeriodNanoseconds"])
        self.level = Fraction(c.get("initialLevel") or 0)
        self.t = 0
        self.limit = self.cap

    def advance(self, T):
        self.level = max(Fraction(0), self.level - (T - self.t) * self.rate)
        self.t = T

    def acquire(self, c):
        if self.level + c <= self.cap:
            self.level += c
            return True, 0
        return False, ceil((self.level + c - self.cap) / self.rate)

    def figures(self):
        return max(0, floor(self.cap - self.level)), ceil(self.level / self.rate)

    def refund(self, c, admitted_at):
        self.level = max(Fraction(0), self.level - c)

    def charge(self, c):
        self.level = min(Fraction(2 * self.cap), self.level + c)


class LeakyBucketShaper:
    def __init__(self, c):
        self.interval = Fraction(c["periodNanoseconds"], c["rate"])
        self.max_cost = c["maximumCost"]
        self.theta = Fraction(0)
        self.t = 0
        self.limit = self.max_cost

    def advance(self, T):
        self.t = T

    def free(self):
        return ceil(self.theta) <= self.t

    def acquire(self, c):
        T = self.t
        if not self.free():
            return False, ceil(self.theta) - T
        self.theta = (self.theta if T < self.theta + 1 else Fraction(T)) + c * self.interval
        return True, 0

    def figures(self):
        return (self.max_cost if self.free() else 0), max(0, ceil(self.theta) - self.t)

    def refund(self, c, admitted_at):
        self.theta = max(self.theta - c * self.interval, Fraction(self.t))

    def charge(self, c):
        T = self.t
        self.theta = min(max(self.theta, Fraction(T)) + c * self.interval, T + 2 * self.max_cost * self.interval)


class GCRA:
    def __init__(self, c):
        self.e = Fraction(c["periodNanoseconds"], c["rate"])
        self.burst = c["burst"]
        self.tat = Fraction(0)
        self.t = 0
        self.limit = self.burst

    def advance(self, T):
        self.t = T

    def acquire(self, c):
        T = self.t
        n = max(self.tat, Fraction(T)) + c * self.e
        if n - T <= self.burst * self.e:
            self.tat = n
            return True, 0
        return False, ceil(n - T - self.burst * self.e)

    def figures(self):
        T = self.t
        ahead = max(self.tat, Fraction(T)) - T
        return max(0, floor((self.burst * self.e - ahead) / self.e)), ceil(ahead)

    def refund(self, c, admitted_at):
        self.tat = max(self.tat - c * self.e, Fraction(self.t))

    def charge(self, c):
        T = self.t
        self.tat = min(max(self.tat, Fraction(T)) + c * self.e, T + 2 * self.burst * self.e)


class FixedWindow:
    def __init__(self, c):
        self.L, self.W, self.E = c["limit"], c["windowNanoseconds"], c.get("epochNanoseconds") or 0
        self.k, self.n, self.t = self.window(0), 0, 0
        self.limit = self.L

    def window(self, t):
        return (t - self.E) // self.W

    def advance(self, T):
        if self.window(T) != self.k:
            self.k, self.n = self.window(T), 0
        self.t = T

    def end(self):
        return self.E + (self.k + 1) * self.W - self.t

    def acquire(self, c):
        if self.n + c <= self.L:
            self.n += c
            return True, 0
        return False, self.end()

    def figures(self):
        return max(0, self.L - self.n), (self.end() if self.n > 0 else 0)

    def refund(self, c, admitted_at):
        if self.window(admitted_at) == self.k:
            self.n = max(0, self.n - c)

    def charge(self, c):
        self.n = min(2 * self.L, self.n + c)


class SlidingWindowLog:
    def __init__(self, c):
        self.L, self.W = c["limit"], c["windowNanoseconds"]
        self.log = []  # [time, cost], oldest first, one entry per time
        self.t = 0
        self.limit = self.L

    def advance(self, T):
        self.log = [e for e in self.log if e[0] > T - self.W]
        self.t = T

    def total(self):
        return sum(cost for _, cost in self.log)

    def add(self, c):
        if self.log and self.log[-1][0] == self.t:
            self.log[-1][1] += c
        else:
            self.log.append([self.t, c])

    def acquire(self, c):
        S = self.total()
        if S + c <= self.L:
            self.add(c)
            return True, 0
        need, running = S + c - self.L, 0
        for time, cost in self.log:
            running += cost
            if running >= need:
                return False, time + self.W - self.t
        raise AssertionError("a cost within the limit always fits once the log empties")

    def figures(self):
        reset = self.log[-1][0] + self.W - self.t if self.log else 0
        return max(0, self.L - self.total()), reset

    def refund(self, c, admitted_at):
        for entry in self.log:
            if entry[0] == admitted_at:
                entry[1] -= min(c, entry[1])
        self.log = [e for e in self.log if e[1] > 0]

    def charge(self, c):
        taken = min(c, 2 * self.L - self.total())
        if taken > 0:
            self.add(taken)


class SlidingWindowCounter:
    def __init__(self, c):
        self.L, self.W, self.E = c["limit"], c["windowNanoseconds"], c.get("epochNanoseconds") or 0
        self.k, self.p, self.n, self.t = self.window(0), 0, 0, 0
        self.limit = self.L

    def window(self, t):
        return (t - self.E) // self.W

    def advance(self, T):
        k = self.window(T)
        if k == self.k + 1:
            self.p, self.n = self.n, 0
        elif k >= self.k + 2:
            self.p, self.n = 0, 0
        self.k, self.t = k, T

    def estimate(self):
        e = self.t - (self.E + self.k * self.W)
        return Fraction(self.p * (self.W - e), self.W) + self.n

    def acquire(self, c):
        if self.estimate() + c <= self.L:
            self.n += c
            return True, 0
        # The smallest whole x with estimate(T + x) + c <= L: the estimate only falls with time,
        # so search the three windows it can fall in (this one, the next, the one after).
        e, room = self.t - (self.E + self.k * self.W), self.L - c
        if self.p > 0 and self.n <= room:  # in this window: p·(W − e − x)/W + n <= room
            x = max(0, ceil(self.W - e - Fraction((room - self.n) * self.W, self.p)))
            if x < self.W - e:
                return False, x
        if self.n > 0:  # in the next window, with n as the previous count: n·(W − e')/W <= room
            e2 = max(0, ceil(self.W - Fraction(room * self.W, self.n)))
            if e2 < self.W:
                return False, self.W - e + e2
        else:
            return False, self.W - e
        return False, 2 * self.W - e

    def figures(self):
        e = self.t - (self.E + self.k * self.W)
        reset = 2 * self.W - e if self.n > 0 else (self.W - e if self.p > 0 else 0)
        return max(0, floor(self.L - self.estimate())), reset

    def refund(self, c, admitted_at):
        k = self.window(admitted_at)
        if k == self.k:
            self.n = max(0, self.n - c)
        elif k == self.k - 1:
            self.p = max(0, self.p - c)

    def charge(self, c):
        self.n = min(2 * self.L, self.n + c)


class SegmentedWindow:
    def __init__(self, c):
        self.L, self.W, self.N = c["limit"], c["windowNanoseconds"], c["segments"]
        self.E = c.get("epochNanoseconds") or 0
        assert self.W % self.N == 0
        self.S = self.W // self.N
        self.counts = {}  # segment number -> count
        self.t = 0
        self.limit = self.L

    def segment(self, t):
        return (t - self.E) // self.S

    def advance(self, T):
        j = self.segment(T)
        self.counts = {s: n for s, n in self.counts.items() if s > j - self.N and n > 0}
        self.t = T

    def total(self):
        return sum(self.counts.values())

    def acquire(self, c):
        S, j = self.total(), self.segment(self.t)
        if S + c <= self.L:
            self.counts[j] = self.counts.get(j, 0) + c
            return True, 0
        need, running = S + c - self.L, 0
        for i in range(1, self.N + 1):
            running += self.counts.get(j - self.N + i, 0)
            if running >= need:
                return False, self.E + (j + i) * self.S - self.t
        raise AssertionError("a cost within the limit always fits once the window empties")

    def figures(self):
        live = [s for s, n in self.counts.items() if n > 0]
        reset = self.E + (max(live) + self.N) * self.S - self.t if live else 0
        return max(0, self.L - self.total()), reset

    def refund(self, c, admitted_at):
        s = self.segment(admitted_at)
        if s in self.counts:
            self.counts[s] -= min(c, self.counts[s])

    def charge(self, c):
        taken = min(c, 2 * self.L - self.total())
        if taken > 0:
            j = self.segment(self.t)
            self.counts[j] = self.counts.get(j, 0) + taken


class Concurrency:
    def __init__(self, c):
        self.N, self.f, self.t = c["limit"], 0, 0
        self.limit = self.N

    def advance(self, T):
        self.t = T

    def acquire(self, c):
        if self.f + c <= self.N:
            self.f += c
            return True, 0
        return False, FOREVER

    def figures(self):
        return max(0, self.N - self.f), (0 if self.f == 0 else FOREVER)

    def refund(self, c, admitted_at):
        self.f = max(0, self.f - c)

    def charge(self, c):
        self.f = min(2 * self.N, self.f + c)


MODELS = {
    "token-bucket": TokenBucket, "leaky-bucket-meter": LeakyBucketMeter,
    "leaky-bucket-shaper": LeakyBucketShaper, "gcra": GCRA, "fixed-window": FixedWindow,
    "sliding-window-log": SlidingWindowLog, "sliding-window-counter": SlidingWindowCounter,
    "segmented-window": SegmentedWindow, "concurrency": Concurrency,
}


def later(lag, d):
    """lag + d, where a duration that never elapses stays Int64.max."""
    return FOREVER if d == FOREVER else lag + d


class Driver:
    """One limiter created at clock reading 0: the README's shared rules around a model."""

    def __init__(self, algorithm, config):
        self.model = MODELS[algorithm](config)
        self.last = 0

    @property
    def limit(self):
        return self.model.limit

    def _at(self, at):
        T = max(at, self.last)
        return T, T - at

    def peek(self, at, cost):
        """What acquire(at, cost) would report, changing nothing (cost 0: a probe)."""
        T, lag = self._at(at)
        model = copy.deepcopy(self.model)
        model.advance(T)
        allowed, wait = (True, 0) if cost == 0 else model.acquire(cost)
        remaining, reset = model.figures()
        return {"allowed": allowed, "remaining": remaining,
                "retryAfter": 0 if allowed else later(lag, wait), "resetAfter": later(lag, reset)}

    def acquire(self, at, cost):
        """Returns the step's expected figures and the admission's reading T."""
        if cost == 0:
            return self.peek(at, 0), max(at, self.last)
        T, lag = self._at(at)
        self.model.advance(T)
        self.last = T
        allowed, wait = self.model.acquire(cost)
        remaining, reset = self.model.figures()
        return {"allowed": allowed, "remaining": remaining,
                "retryAfter": 0 if allowed else later(lag, wait), "resetAfter": later(lag, reset)}, T

    def refund(self, at, cost, admitted_at):
        T, _ = self._at(at)
        self.model.advance(T)
        self.last = T
        self.model.refund(cost, admitted_at)

    def charge(self, at, cost):
        T, _ = self._at(at)
        self.model.advance(T)
        self.last = T
        self.model.charge(cost)


def run(algorithm, config, trace):
    """Expected steps for a trace of (op, at, cost[, admittedAt]) inputs."""
    driver, steps = Driver(algorithm, config), []
    for op, at, cost, *rest in trace:
        if op == "acquire":
            figures, _ = driver.acquire(at, cost)
            steps.append({"op": op, "at": at, "cost": cost, **figures})
        elif op in ("refund", "release"):
            driver.refund(at, cost, rest[0] if rest else at)
            steps.append({"op": op, "at": at, "cost": cost, "admittedAt": rest[0] if rest else at})
        elif op == "charge":
            driver.charge(at, cost)
            steps.append({"op": op, "at": at, "cost": cost})
        else:
            raise ValueError(op)
    return steps


class Chain:
    """Several limiters taken all-or-nothing (chain.json), and a budget's reservations (budget.json)."""

    def __init__(self, links):
        self.names = [link["name"] for link in links]
        self.links = [Driver(link["algorithm"], link["config"]) for link in links]

    def remaining(self, at):
        return [link.peek(at, 0)["remaining"] for link in self.links]

    def acquire(self, at, costs):
        """The expected figures, and each link's admission reading when allowed (else None)."""
        times = []
        for index, (link, cost) in enumerate(zip(self.links, costs)):
            figures, admitted_at = link.acquire(at, cost)
            if figures["allowed"]:
                times.append(admitted_at)
                continue
            for j in range(index):
                if costs[j] > 0:
                    self.links[j].refund(at, costs[j], times[j])
            waits = [link.peek(at, cost)["retryAfter"] for link, cost in zip(self.links, costs)]
            longest = max(waits)
            denier = waits.index(longest)
            return {"allowed": False, "deniedBy": self.names[denier], "retryAfter": longest,
                    "remaining": self.remaining(at)}, None
        return {"allowed": True, "deniedBy": None, "retryAfter": 0, "remaining": self.remaining(at)}, times


class Budget(Chain):
    def __init__(self, dimensions, reservation_timeout):
        super().__init__(dimensions)
        self.timeout = reservation_timeout
        self.held = {}  # id -> (estimate, admission readings, expiry)

    def reserve(self, at, id, estimate):
        for name, link, cost in zip(self.names, self.links, estimate):
            if cost > link.limit:
                return {"error": name}
        figures, times = self.acquire(at, estimate)
        if times is not None:
            self.held[id] = (estimate, times, at + self.timeout)
        return figures

    def settle(self, at, id, actual):
        estimate, times, expiry = self.held.pop(id)
        if at >= expiry:
            return {"expired": True, "remaining": self.remaining(at)}
        for link, guess, used, admitted_at in zip(self.links, estimate, actual, times):
            if used < guess:
                link.refund(at, guess - used, admitted_at)
            elif used > guess:
                link.charge(at, used - guess)
        return {"expired": False, "remaining": self.remaining(at)}
