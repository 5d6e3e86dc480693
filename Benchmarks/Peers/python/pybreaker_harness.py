"""Peer harness: the PyPI package `pybreaker`, a closed circuit breaker on its success path.

Times CircuitBreaker(fail_max=5, reset_timeout=60).call(f) where f is a trivial function that
returns True: every call runs f and succeeds, and the breaker stays closed (it takes its RLock,
reads its state from the in-memory storage, calls f, and resets the failure counter).

Prints exactly one line on stdout:  python-pybreaker-call\t<median ns/op>
Per-round detail and a checksum go to stderr.

Env: PEERS_ROUNDS (default 5), PEERS_ROUND_SECONDS (default 1.0).
"""

import importlib.metadata
import sys
import time

import pybreaker

from timing import log, measure

LABEL = "python-pybreaker-call"


def succeed():
    return True


def run(breaker, n):
    """Calls breaker.call(succeed) n times; returns the elapsed nanoseconds and how many
    calls ran and succeeded."""
    call = breaker.call
    permitted = 0
    start = time.perf_counter_ns()
    for _ in range(n):
        if call(succeed) is True:
            permitted += 1
    return time.perf_counter_ns() - start, permitted


def main():
    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)
    log(f"{LABEL}: pybreaker {importlib.metadata.version('pybreaker')}, Python {sys.version.split()[0]}, "
        f"state {breaker.current_state}, fail_max {breaker.fail_max}, reset_timeout {breaker.reset_timeout}")

    def check(permitted, n):
        if permitted != n or breaker.current_state != pybreaker.STATE_CLOSED:
            return (f"only {permitted} of {n} calls succeeded (breaker {breaker.current_state}); "
                    "breaker not on the closed success path")
        return None

    measure(LABEL, lambda n: run(breaker, n), check,
            final_detail=lambda: f", fail counter {breaker.fail_counter}")


if __name__ == "__main__":
    main()
