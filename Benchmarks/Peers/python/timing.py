"""The timing protocol of the Python peer harnesses, the same as the Go, Guava and Swift ones:
calibrate to a batch of at least 100 ms, then time rounds of about PEERS_ROUND_SECONDS (default
1.0) each, PEERS_ROUNDS (default 5) of them, and print the median round as `label<TAB>ns/op` on
stdout; per-round detail and a checksum go to stderr.
"""

import os
import sys


def env_float(name, default):
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def log(line):
    print(line, file=sys.stderr, flush=True)


def measure(label, batch, check, round_detail=lambda: "", final_detail=lambda: "", checksum=0):
    """Times `batch(n)`, which makes n calls and returns (elapsed ns, calls that succeeded).

    `check(succeeded, n)` returns None when a round stayed on the path being measured, otherwise
    the message to stop with. `round_detail()` and `final_detail()` add to the stderr lines.
    """
    rounds = int(env_float("PEERS_ROUNDS", 5))
    target = env_float("PEERS_ROUND_SECONDS", 1.0)

    # Calibrate: grow n until one batch takes >= 100 ms.
    n = 1 << 10
    while True:
        elapsed, succeeded = batch(n)
        checksum += succeeded
        if elapsed >= 100_000_000:
            break
        n *= 2
    n = max(1, int(n * target * 1e9 / elapsed))

    per_op = []
    for r in range(rounds):
        elapsed, succeeded = batch(n)
        checksum += succeeded
        problem = check(succeeded, n)
        if problem:
            log(f"python harness: {problem}")
            sys.exit(1)
        per_op.append(elapsed / n)
        log(f"{label} round {r + 1}: {n} ops, {per_op[-1]:.1f} ns/op{round_detail()}")
    ordered = sorted(per_op)
    m = len(ordered) // 2
    median = ordered[m] if len(ordered) % 2 == 1 else (ordered[m - 1] + ordered[m]) / 2
    log(f"{label} best {ordered[0]:.1f} ns/op, median {median:.1f} ns/op{final_detail()}, checksum {checksum}")
    print(f"{label}\t{median:.1f}", flush=True)
