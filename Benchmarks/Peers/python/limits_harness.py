"""Peer harness: the PyPI package `limits`, moving window, in-memory storage.

Times MovingWindowRateLimiter(MemoryStorage()).hit(item) on the always-permit
path, where item is RateLimitItemPerSecond(1_000_000_000): every call is
permitted, and the strategy still logs one entry per hit in its window.

Prints exactly one line on stdout:  python-limits-moving-window-hit\t<median ns/op>
Per-round detail and a checksum go to stderr.

Env: PEERS_ROUNDS (default 5), PEERS_ROUND_SECONDS (default 1.0).
"""

import sys
import time

import limits
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from timing import log, measure

LABEL = "python-limits-moving-window-hit"
KEY = "peer-harness"


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

    def check(permitted, n):
        if permitted != n:
            return f"only {permitted} of {n} calls were permitted; limiter not on the always-permit path"
        return None

    measure(LABEL, lambda n: run(limiter, item, n), check,
            round_detail=lambda: f", {logged_entries(storage, item)} entries logged", checksum=checksum)


if __name__ == "__main__":
    main()
