"""LiteLLM custom auth for the benchmark: per-key rpm/tpm limits without a database.

LiteLLM's virtual keys live in PostgreSQL behind Prisma, whose CLI and query engine are
downloaded from npm and Prisma's own host at `prisma generate` time; neither is reachable
from this machine. `general_settings.custom_auth` is LiteLLM's documented hook that returns
the same `UserAPIKeyAuth` object its database path builds from a key's row, and the rate
limiter (litellm/proxy/hooks/parallel_request_limiter_v3.py) reads only that object:
`api_key` (hashed by UserAPIKeyAuth), `rpm_limit`, `tpm_limit`.

The keys come from the environment: BENCH_LITELLM_KEYS='{"sk-...": {"rpm_limit": 60,
"tpm_limit": 20000}, ...}'. An unknown key gets a 401.
"""

import json
import os

from fastapi import Request
from litellm.proxy._types import ProxyErrorTypes, ProxyException, UserAPIKeyAuth

KEYS = json.loads(os.environ.get("BENCH_LITELLM_KEYS", "{}"))


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    limits = KEYS.get(api_key)
    if limits is None:
        raise ProxyException(
            message="invalid api key",
            type=ProxyErrorTypes.auth_error,
            param="api_key",
            code=401,
        )
    return UserAPIKeyAuth(api_key=api_key, **limits)
