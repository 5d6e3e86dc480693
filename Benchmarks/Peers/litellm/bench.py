"""Measurements against a running LiteLLM proxy (started by ./run): window, retry-after,
stream headers, throughput. Prints readable lines and writes everything as JSON.

    python bench.py --proxy URL --mock URL --json PATH [--gateway URL --gateway-key KEY]

Keys (made by ./run through bench_auth.py, all but `open` with rpm 60 and tpm 20,000):
sk-bench-rpm, sk-bench-tpm, sk-bench-boundary, sk-bench-stream, and sk-bench-open (very high
limits) for throughput.

Env: LITELLM_WINDOW_SECONDS (150) length of the window phases; LITELLM_HEY_SECONDS (20),
LITELLM_HEY_CONCURRENCY (64) for hey.
"""

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import time
from pathlib import Path

import httpx
import openai
from openai import AsyncOpenAI

RPM, TPM = 60, 20_000
SPAN = 60.0  # the sliding span the maxima are taken over
SMALL_PROMPT = [{"role": "user", "content": "Say hello."}]
# ~1,000 tokens of plain English (the mock counts them with o200k/cl100k: see usage).
LONG_TEXT = "The quick brown fox jumps over the lazy dog. " * 100
LONG_PROMPT = [{"role": "user", "content": LONG_TEXT}]
MAX_TOKENS = 16  # the mock answers 16 tokens at most anyway


def log(line=""):
    print(line, flush=True)


# --- a. window and b. retry-after ---------------------------------------------------------


async def one_call(client, key, messages, t0, records):
    sent = time.monotonic() - t0
    rec = {"sent": round(sent, 4)}
    try:
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=messages, max_tokens=MAX_TOKENS,
            extra_headers={"Authorization": f"Bearer {key}"},
        )
        body = raw.parse()
        h = raw.headers
        rec.update(status=raw.status_code, tokens=body.usage.total_tokens,
                   prompt_tokens=body.usage.prompt_tokens,
                   remaining_requests=h.get("x-ratelimit-api_key-remaining-requests", h.get("x-ratelimit-remaining-requests")),
                   remaining_tokens=h.get("x-ratelimit-api_key-remaining-tokens"))
    except openai.APIStatusError as e:
        h = e.response.headers
        rec.update(status=e.status_code, retry_after=h.get("retry-after"),
                   retry_after_ms=h.get("retry-after-ms"), limit_type=h.get("rate_limit_type"))
    except openai.APIError as e:  # connection errors, timeouts
        rec.update(status=None, error=type(e).__name__)
    rec["done"] = round(time.monotonic() - t0, 4)
    records.append(rec)


async def run_phase(client, key, messages, offsets, t0, records):
    """Open loop: each request leaves at its offset whatever the earlier ones are doing."""
    tasks = []
    for off in offsets:
        delay = t0 + off - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one_call(client, key, messages, t0, records)))
    await asyncio.gather(*tasks)


def sliding_max(times, weights, span=SPAN):
    """Largest total weight of entries whose times fall in some [t, t + span)."""
    pairs = sorted(zip(times, weights))
    best, total, j = 0, 0, 0
    for i in range(len(pairs)):
        while j < len(pairs) and pairs[j][0] < pairs[i][0] + span:
            total += pairs[j][1]
            j += 1
        if total > best:
            best, best_start = total, pairs[i][0]
        total -= pairs[i][1]
    return best, (round(best_start, 2) if pairs and best else None)


def analyse(name, records, duration):
    ok = sorted((r for r in records if r["status"] == 200), key=lambda r: r["sent"])
    refused = sorted((r for r in records if r["status"] == 429), key=lambda r: r["sent"])
    other = [r for r in records if r["status"] not in (200, 429)]
    ok_times = [r["sent"] for r in ok]
    max_req, req_at = sliding_max(ok_times, [1] * len(ok))
    max_tok, tok_at = sliding_max(ok_times, [r["tokens"] for r in ok])
    # Retry-after vs the true wait: from the refusal to the next admitted request's departure.
    waits = []
    for r in refused:
        nxt = next((t for t in ok_times if t > r["sent"]), None)
        waits.append(None if nxt is None else round(nxt - r["sent"], 3))
    known = [(r, w) for r, w in zip(refused, waits) if w is not None]
    ra_values = sorted({r["retry_after"] for r in refused}, key=lambda v: (v is None, v))
    # The wait a client is told: retry-after-ms when sent (the openai client reads it first), else retry-after.
    def told(r):
        if r.get("retry_after_ms") is not None:
            return float(r["retry_after_ms"]) / 1000
        return None if r["retry_after"] is None else float(r["retry_after"])
    errors = [told(r) - w for r, w in known if told(r) is not None]
    # LiteLLM's windows as its x-ratelimit-api_key-remaining-requests header shows them: the
    # first request counted in a new window leaves 59. (In send order, so a request overtaken
    # in the proxy may land in the neighbouring window.)
    windows = []
    for r in ok:
        if not windows or r.get("remaining_requests") == str(RPM - 1):
            windows.append({"from_s": r["sent"], "admitted": 0})
        windows[-1]["admitted"] += 1
    # A client that waits exactly as told: the first request of the phase sent once the wait is
    # over should be admitted, and every request sent before then refused.
    told_check = {"first_after_admitted": 0, "first_after_refused": 0, "no_request_after": 0,
                  "sent_before_refused": 0, "sent_before_admitted": 0}
    ordered = sorted((r for r in records if r["status"] in (200, 429)), key=lambda r: r["sent"])
    for r in refused:
        wait = told(r)
        if wait is None:
            continue
        after = next((x for x in ordered if x["sent"] >= r["sent"] + wait), None)
        if after is None:
            told_check["no_request_after"] += 1
        else:
            told_check["first_after_admitted" if after["status"] == 200 else "first_after_refused"] += 1
        for x in ordered:
            if r["sent"] < x["sent"] < r["sent"] + wait - 0.01:
                told_check["sent_before_admitted" if x["status"] == 200 else "sent_before_refused"] += 1
    out = {
        "requests": len(records), "admitted": len(ok), "refused_429": len(refused),
        "told_wait_check": told_check,
        "other": {str(k): sum(1 for r in other if r["status"] == k) for k in {r["status"] for r in other}},
        "duration_s": duration,
        "max_admitted_requests_in_60s": max_req, "at_s": req_at, "rpm_limit": RPM,
        "max_admitted_tokens_in_60s": max_tok, "tokens_at_s": tok_at, "tpm_limit": TPM,
        "prompt_tokens_per_request": ok[0]["prompt_tokens"] if ok else None,
        "refusals_by_limit_type": {str(k): sum(1 for r in refused if r["limit_type"] == k)
                                   for k in {r["limit_type"] for r in refused}},
        "windows_seen": windows,
        "retry_after_values": ra_values,
        "retry_after_ms_seen": any(r["retry_after_ms"] is not None for r in refused),
        "true_wait_s": {
            "known": len(known), "unknown_at_end": len(refused) - len(known),
            "min": min((w for _, w in known), default=None),
            "median": sorted(w for _, w in known)[len(known) // 2] if known else None,
            "max": max((w for _, w in known), default=None),
        },
        "retry_after_minus_true_wait_s": {
            "min": round(min(errors), 3) if errors else None,
            "max": round(max(errors), 3) if errors else None,
            "refusals_told_to_wait_too_long_by_over_5s": sum(1 for e in errors if e > 5),
            "refusals_told_too_short": sum(1 for e in errors if e < 0),
        },
        "records": sorted(records, key=lambda r: r["sent"]),
    }
    log(f"[window:{name}] {len(records)} requests over {duration:.0f} s: {len(ok)} admitted, "
        f"{len(refused)} refused (429) {out['refusals_by_limit_type']}, other {out['other']}")
    log(f"[window:{name}] max admitted in any 60 s span: {max_req} requests (limit {RPM}), "
        f"{max_tok} tokens (limit {TPM}); prompt {out['prompt_tokens_per_request']} tokens/request")
    log(f"[window:{name}] windows (from the remaining-requests header): "
        + "; ".join(f"from {w['from_s']:.2f} s: {w['admitted']} admitted" for w in windows))
    tw = out["true_wait_s"]
    ra = out["retry_after_minus_true_wait_s"]
    log(f"[retry-after:{name}] values {ra_values}, retry-after-ms present: {out['retry_after_ms_seen']}; "
        f"true wait min/median/max {tw['min']}/{tw['median']}/{tw['max']} s "
        f"({tw['unknown_at_end']} refusals with no later admission); retry-after minus true wait "
        f"{ra['min']}..{ra['max']} s, too long by >5 s: {ra['refusals_told_to_wait_too_long_by_over_5s']}, "
        f"too short: {ra['refusals_told_too_short']}")
    log(f"[retry-after:{name}] a client waiting as told: first request after the wait admitted "
        f"{told_check['first_after_admitted']}, refused {told_check['first_after_refused']}; requests sent "
        f"before the wait was over: refused {told_check['sent_before_refused']}, admitted {told_check['sent_before_admitted']}")
    return out


async def window(proxy, duration):
    client = AsyncOpenAI(base_url=f"{proxy}/v1", api_key="unused", max_retries=0, timeout=30)
    steady = [i * 0.5 for i in range(int(duration * 2))]  # 2 requests/s
    phases = {
        # rpm binds: 26 tokens a request, 60 of them are 1,560 tokens.
        "rpm": ("sk-bench-rpm", SMALL_PROMPT, steady),
        # tpm binds: ~1,000-token prompts, ~19 of them fill 20,000 tokens.
        "tpm": ("sk-bench-tpm", LONG_PROMPT, steady),
    }
    if duration >= 75:
        # Across LiteLLM's window boundary: one request opens the key's window at t = 0.4 s,
        # 59 more fill it exactly from t = 50 s (6/s), then 10/s from t = 60 s to t = 70 s.
        phases["boundary"] = ("sk-bench-boundary", SMALL_PROMPT,
                              [0.4] + [50 + i / 6 for i in range(59)] + [60 + i / 10 for i in range(100)])
    log(f"[window] phases {list(phases)}, {duration:.0f} s, concurrently, one key each")
    # t = 0 is a whole second of the wall clock (LiteLLM starts its windows at whole seconds).
    wall_start = int(time.time()) + 2
    t0 = time.monotonic() + (wall_start - time.time())
    records = {name: [] for name in phases}
    await asyncio.gather(*(run_phase(client, key, msgs, offs, t0, records[name])
                           for name, (key, msgs, offs) in phases.items()))
    await client.close()
    return {name: analyse(name, records[name], max(phases[name][2]) + 0.5) for name in phases}


# --- c. headers on streams --------------------------------------------------------------------


def stream_headers(proxy):
    url = f"{proxy}/v1/chat/completions"
    auth = {"Authorization": "Bearer sk-bench-stream"}
    body = {"model": "gpt-4o-mini", "messages": SMALL_PROMPT, "max_tokens": MAX_TOKENS}
    out = {}
    with httpx.Client(timeout=30) as c:
        r = c.post(url, headers=auth, json=body)
        out["non_streamed"] = {"status": r.status_code, **limit_headers(r.headers)}
        with c.stream("POST", url, headers=auth, json={**body, "stream": True}) as s:
            events = sum(1 for line in s.iter_lines() if line.startswith("data:"))
            out["streamed"] = {"status": s.status_code, "events": events, **limit_headers(s.headers)}
    for kind in ("non_streamed", "streamed"):
        hdrs = out[kind]["x_ratelimit"]
        log(f"[stream-headers] {kind} (HTTP {out[kind]['status']}): "
            + (", ".join(f"{k}: {v}" for k, v in hdrs.items()) if hdrs else "no x-ratelimit-* headers")
            + f"; LiteLLM's own: {', '.join(out[kind]['x_litellm_key']) or 'none'}")
    return out


def limit_headers(headers):
    return {"x_ratelimit": {k: v for k, v in headers.items() if k.startswith("x-ratelimit-")},
            "x_litellm_key": {k: v for k, v in headers.items() if k.startswith("x-litellm-key-")}}


# --- d. throughput ---------------------------------------------------------------------------


def hey(name, url, key, body_file, seconds, concurrency, busy):
    cmd = ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-m", "POST",
           "-T", "application/json", "-D", str(body_file)]
    if key:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    text = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout

    def grab(pattern):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else None

    p50, p99 = grab(r"50% in ([\d.]+) secs"), grab(r"99% in ([\d.]+) secs")
    row = {
        "target": name, "url": url, "seconds": seconds, "concurrency": concurrency,
        "requests_per_s": grab(r"Requests/sec:\s+([\d.]+)"),
        "p50_ms": round(p50 * 1000, 2) if p50 is not None else None,
        "p99_ms": round(p99 * 1000, 2) if p99 is not None else None,
        "status_codes": {m.group(1): int(m.group(2)) for m in re.finditer(r"\[(\d+)\]\s+(\d+) responses", text)},
        "errors": re.findall(r"Error distribution:\n((?:\s+\[\d+\].*\n)+)", text),
        "background_cpu_busy_before": busy,
    }
    log(f"[throughput] {name:<20} {row['requests_per_s']:>8.1f} req/s  p50 {row['p50_ms']:>8.2f} ms  "
        f"p99 {row['p99_ms']:>8.2f} ms  status {row['status_codes']}  (machine {busy:.0%} busy just before)"
        + (f"  errors {row['errors']}" if row["errors"] else ""))
    return row


def throughput(targets, body_file):
    seconds = int(os.environ.get("LITELLM_HEY_SECONDS", "20"))
    concurrency = int(os.environ.get("LITELLM_HEY_CONCURRENCY", "64"))
    body = json.loads(Path(body_file).read_text())
    log(f"[throughput] hey -z {seconds}s -c {concurrency} -m POST, body {body_file} "
        f"({len(body['messages'][0]['content'])} chars, max_tokens {body['max_tokens']})")
    rows = []
    for name, url, key in targets:
        busy = background_cpu()
        subprocess.run(["hey", "-n", "200", "-c", "8", "-m", "POST", "-T", "application/json",
                        "-D", str(body_file)] + (["-H", f"Authorization: Bearer {key}"] if key else []) + [url],
                       capture_output=True, check=True)  # warm-up
        rows.append(hey(name, url, key, body_file, seconds, concurrency, busy))
    return rows


def background_cpu(seconds=2.0):
    """Share of the machine's CPU busy while our processes sit idle (others' work, e.g. a build)."""
    def sample():
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
        return sum(f) - f[3] - f[4], sum(f)  # busy (all but idle and iowait), total
    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return round((b1 - b0) / max(1, t1 - t0), 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True, help="LiteLLM base URL, e.g. http://127.0.0.1:4000")
    ap.add_argument("--proxy-throughput", action="append", default=[],
                    help="NAME=URL of a LiteLLM instance for the throughput rows (default: --proxy)")
    ap.add_argument("--mock", required=True, help="the mock provider's base URL")
    ap.add_argument("--gateway", default=os.environ.get("BULWARK_GATEWAY_URL"))
    ap.add_argument("--gateway-key", default=os.environ.get("BULWARK_GATEWAY_KEY"))
    ap.add_argument("--json", required=True)
    ap.add_argument("--settings", default="{}", help="JSON recorded as is (how the proxy was run)")
    ap.add_argument("--skip", default="", help="comma-separated: window,stream,throughput")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    duration = float(os.environ.get("LITELLM_WINDOW_SECONDS", "150"))

    result = {
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform(), "note": "this machine"},
        "litellm_version": __import__("importlib.metadata").metadata.version("litellm"),
        "settings": json.loads(args.settings),
        "limits": {"rpm": RPM, "tpm": TPM},
    }
    if "window" not in skip:
        result["window"] = asyncio.run(window(args.proxy, duration))
    if "stream" not in skip:
        result["stream_headers"] = stream_headers(args.proxy)
    if "throughput" not in skip:
        body_file = Path(args.json).parent / "litellm-chat-body.json"
        body_file.write_text(json.dumps({"model": "gpt-4o-mini", "messages": LONG_PROMPT,
                                         "max_tokens": MAX_TOKENS}))
        path = "/v1/chat/completions"
        targets = [("mock (direct)", f"{args.mock}{path}", None)]
        for spec in args.proxy_throughput or [f"litellm={args.proxy}"]:
            name, url = spec.split("=", 1)
            targets.append((name, f"{url}{path}", "sk-bench-open"))
        if args.gateway:
            gw = args.gateway.rstrip("/")
            targets.append(("bulwark-gateway", gw if gw.endswith(path) else gw + path, args.gateway_key))
        result["throughput"] = throughput(targets, body_file)
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    log(f"[bench] wrote {args.json}")


if __name__ == "__main__":
    main()
