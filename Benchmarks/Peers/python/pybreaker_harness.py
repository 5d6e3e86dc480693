"""Peer harness: the PyPI package `pybreaker`, a closed circuit breaker on its success path.

Times CircuitBreaker(fail_max=5, reset_timeout=60).call(f) where f is a trivial function that
returns True: every call runs f and succeeds, and the breaker stays closed (it takes its RLock,
reads its state from the in-memory storage, calls f, and resets the failure counter).

Prints exactly one line on stdout:  python-pybreaker-call\t<median ns/op>
Per-round detail and a checksum go to stderr.

Env: PEERS_ROUNDS (default 5), PEERS_ROUND_SECONDS (default 1.0).
"""

import importlib.metadata
import os
import sys
import time

import pybreaker

LABEL = "python-pybreaker-call"


def env_float(name, default):
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def log(line):
    print(line, file=sys.stderr, flush=True)


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
    rounds = int(env_float("PEERS_ROUNDS", 5))
    target = env_float("PEERS_ROUND_SECONDS", 1.0)

    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)
    log(f"{LABEL}: pybreaker {importlib.metadata.version('pybreaker')}, Python {sys.version.split()[0]}, "
        f"state {breaker.current_state}, fail_max {breaker.fail_max}, reset_timeout {breaker.reset_timeout}")
    checksum = 0

    # Warm up and calibrate: grow n until one batch takes >= 100 ms.
    n = 1 << 10
    while True:
        elapsed, permitted = run(breaker, n)
        checksum += permitted
        if elapsed >= 100_000_000:
            break
        n *= 2
    n = max(1, int(n * target * 1e9 / elapsed))

    per_op = []
    for r in range(rounds):
        elapsed, permitted = run(breaker, n)
        checksum += permitted
        if permitted != n or breaker.current_state != pybreaker.STATE_CLOSED:
            log(f"python harness: only {permitted} of {n} calls succeeded (breaker {breaker.current_state}); "
                "breaker not on the closed success path")
            sys.exit(1)
        per_op.append(elapsed / n)
        log(f"{LABEL} round {r + 1}: {n} ops, {per_op[-1]:.1f} ns/op")
    ordered = sorted(per_op)
    m = len(ordered) // 2
    median = ordered[m] if len(ordered) % 2 == 1 else (ordered[m - 1] + ordered[m]) / 2
    log(f"{LABEL} best {ordered[0]:.1f} ns/op, median {median:.1f} ns/op, "
        f"fail counter {breaker.fail_counter}, checksum {checksum}")
    print(f"{LABEL}\t{median:.1f}", flush=True)


if __name__ == "__main__":
    main()
