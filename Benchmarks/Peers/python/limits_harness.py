"""Peer harness: the PyPI package `limits`, moving window, in-memory storage.

Times MovingWindowRateLimiter(MemoryStorage()).hit(item) on the always-permit
path, where item is RateLimitItemPerSecond(1_000_000_000): every call is
permitted, and the strategy still logs one entry per hit in its window.

Prints exactly one line on stdout:  python-limits-moving-window-hit\t<median ns/op>
Per-round detail and a checksum go to stderr.

Env: PEERS_ROUNDS (default 5), PEERS_ROUND_SECONDS (default 1.0).
"""

import os
import sys
import time

import limits
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

LABEL = "python-limits-moving-window-hit"
KEY = "peer-harness"


def env_float(name, default):
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def log(line):
    print(line, file=sys.stderr, flush=True)


def run(limiter, item, n):
    """Calls hit n times; returns the elapsed nanoseconds and how many were permitted."""
    hit = limiter.hit
    permitted = 0
    start = time.perf_counter_ns()
    for _ in range(n):
        if hit(item, KEY) is True:
            permitted += 1
    return time.perf_counter_ns() - start, permitted


def logged_entries(storage, item):
    """How many entries the storage holds for the key (detail only; internal attribute)."""
    events = getattr(storage, "events", None)
    return len(events.get(item.key_for(KEY), ())) if isinstance(events, dict) else -1


def main():
    rounds = int(env_float("PEERS_ROUNDS", 5))
    target = env_float("PEERS_ROUND_SECONDS", 1.0)

    # A one-second window (the shortest `limits` offers) with a limit no round can reach.
    storage = MemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(1_000_000_000)
    log(f"{LABEL}: limits {limits.__version__}, Python {sys.version.split()[0]}, item '{item}'")
    checksum = 0

    # Warm up for more than one window so the log holds a full window of entries (its steady
    # size) before anything is timed.
    window_ns = item.get_expiry() * 1_000_000_000
    warm_end = time.perf_counter_ns() + window_ns + window_ns // 2
    while time.perf_counter_ns() < warm_end:
        checksum += run(limiter, item, 1000)[1]

    # Calibrate: grow n until one batch takes >= 100 ms.
    n = 1 << 10
    while True:
        elapsed, permitted = run(limiter, item, n)
        checksum += permitted
        if elapsed >= 100_000_000:
            break
        n *= 2
    n = max(1, int(n * target * 1e9 / elapsed))

    per_op = []
    for r in range(rounds):
        elapsed, permitted = run(limiter, item, n)
        checksum += permitted
        if permitted != n:
            log(f"python harness: only {permitted} of {n} calls were permitted; limiter not on the always-permit path")
            sys.exit(1)
        per_op.append(elapsed / n)
        log(f"{LABEL} round {r + 1}: {n} ops, {per_op[-1]:.1f} ns/op, {logged_entries(storage, item)} entries logged")
    ordered = sorted(per_op)
    m = len(ordered) // 2
    median = ordered[m] if len(ordered) % 2 == 1 else (ordered[m - 1] + ordered[m]) / 2
    log(f"{LABEL} best {ordered[0]:.1f} ns/op, median {median:.1f} ns/op, checksum {checksum}")
    print(f"{LABEL}\t{median:.1f}", flush=True)


if __name__ == "__main__":
    main()
