"""The real `openai` Python client against a live bulwark-gateway (GatewayLiveTests runs it).

    python3 openai_client.py BASE_URL
Keys: sk-test-main (generous limits) and sk-test-tight (2 requests per window of 3 s). Prints one
line per check; exits non-zero on the first that fails.
"""
import sys
import time

import openai

base = sys.argv[1] + "/v1"
main = openai.OpenAI(base_url=base, api_key="sk-test-main", max_retries=0)

# A chat call: OpenAI's reply shape, read into the client's own types.
reply = main.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello there"}], max_tokens=5)
assert reply.choices[0].message.role == "assistant", reply
assert reply.usage.completion_tokens == 5 and reply.choices[0].finish_reason == "length", reply.usage
print("chat: ok", reply.usage.prompt_tokens, reply.usage.completion_tokens)

# The headers of a call, through the raw response.
raw = main.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], max_tokens=3)
assert raw.headers["x-ratelimit-limit-requests"] == "1000", dict(raw.headers)
assert int(raw.headers["x-ratelimit-remaining-requests"]) < 1000
print("headers: ok", raw.headers["x-ratelimit-remaining-tokens"], raw.headers["x-ratelimit-reset-tokens"])

# A stream with include_usage: chunks, then the usage chunk (no choices) before [DONE].
chunks = list(main.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], max_tokens=4, stream=True,
    stream_options={"include_usage": True},
))
content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4, chunks[-1]
assert content == " hello" * 4, content
print("stream with usage: ok", len(chunks))

# A stream without it: the gateway asked the upstream for usage and strips that chunk.
chunks = list(main.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], max_tokens=2, stream=True))
assert all(c.usage is None for c in chunks) and all(c.choices for c in chunks), chunks
print("stream without usage: ok", len(chunks))

# A streamed response carries the rate-limit headers too (written before the first event).
with main.chat.completions.with_streaming_response.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], max_tokens=2, stream=True
) as response:
    assert "x-ratelimit-remaining-tokens" in response.headers, dict(response.headers)
print("stream headers: ok")

# Embeddings.
embedding = main.embeddings.create(model="text-embedding-3-small", input="hello world")
assert embedding.usage.prompt_tokens >= 2, embedding.usage
print("embeddings: ok", embedding.usage.prompt_tokens)

# A 429 read as RateLimitError, its headers parsed by the client.
tight = openai.OpenAI(base_url=base, api_key="sk-test-tight", max_retries=0)
for _ in range(2):
    tight.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], max_tokens=1)
try:
    tight.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], max_tokens=1)
    raise AssertionError("the third request in the window was admitted")
except openai.RateLimitError as error:
    headers = error.response.headers
    wait_ms = int(headers["retry-after-ms"])
    assert 0 < wait_ms <= 3250, headers
    assert int(headers["retry-after"]) == -(-wait_ms // 1000), headers
    assert error.body["code"] == "rate_limit_exceeded" and error.body["type"] == "requests", error.body
    assert headers["x-ratelimit-remaining-requests"] == "0", dict(headers)
    print("429: ok", wait_ms, "ms")

# The client's own retry reads retry-after-ms, waits, and succeeds once the window allows.
retrying = openai.OpenAI(base_url=base, api_key="sk-test-tight", max_retries=3)
start = time.monotonic()
reply = retrying.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], max_tokens=1)
assert reply.choices[0].message.content == " hello", reply
print("retry: ok after", round(time.monotonic() - start, 2), "s")
