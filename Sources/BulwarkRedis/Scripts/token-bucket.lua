-- The token bucket (`Tests/Vectors/README.md`, `token-bucket.json`) as a script module.
--
-- **Configuration** (`ARGV` from the module's first index): `capacity C`, `refillAmount A`,
-- `refillPeriod P` (nanoseconds), `initialTokens` (send `C` when the configuration has none).
--
-- **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
-- step's time `T`, nanoseconds after `o`) and `u` (the tokens in units of `1/P'`).
--
-- **Fixed point**: with `g = gcd(A, P)`, `A' = A/g`, `P' = P/g`, the tokens `τ` are kept as the
-- integer `u = τ × P'` (a refill of `Δt` ns adds `Δt × A'` units exactly), so `−C×P' ≤ u ≤ C×P'`.
-- Every intermediate value stays within `2 × C × P'` in magnitude (refill is clamped before it
-- multiplies; refunds and charges compare the cost with the room before multiplying), and every
-- duration within `2 × C × P' / A'` ns, so the script is exact when
--
--     C × P' ≤ 2^51        (P' = P / gcd(A, P))
--
-- which keeps values and durations within 2^52, leaving room for the times they are added to
-- (`T` and the lag, nanoseconds from `bw.sec`, well below 2^52 ≈ 52 days). A stored time older
-- than that loses precision, harmlessly: it only ever means a full bucket.
--
-- **Lifetime**: with `initialTokens = C` an absent key is a full bucket, so the key expires
-- when the bucket is full again (`T + ceil((C×P' − u)/A')`, rounded up to milliseconds;
-- deleted at once when already full at `T = bw.now`; with a driven clock, which may go back,
-- kept). With `initialTokens < C` a full bucket is *not* what a fresh key starts with (it
-- starts with `initialTokens`), so the key is never deleted nor given an expiry (`PERSIST`):
-- the trade-off is that such keys stay in Redis until deleted by hand, one per limited
-- identity; expiring them would hand a returning client `initialTokens` instead of a full
-- bucket.
local tokenBucket = {}

function tokenBucket.config(argv, i)
  local C, A, P = tonumber(argv[i]), tonumber(argv[i + 1]), tonumber(argv[i + 2])
  local initial = tonumber(argv[i + 3])
  local g = bw.gcd(A, P)
  local cfg = {C = C, A = A / g, P = P / g}
  cfg.full = C * cfg.P              -- C tokens, in units of 1/P'
  cfg.fresh = initial * cfg.P       -- what a fresh bucket holds
  cfg.keep = initial < C            -- full is not fresh: the key never expires
  return cfg
end

function tokenBucket.load(keys, cfg)
  local v = redis.call('HMGET', keys[1], 'o', 'l', 'u')
  if not v[1] or not v[2] or not v[3] then return {u = cfg.fresh} end
  local o = tonumber(v[1])
  local u = tonumber(v[3])
  -- Keep the bounds even if the key was written under another configuration.
  if u > cfg.full then u = cfg.full elseif u < -cfg.full then u = -cfg.full end
  return {last = bw.rel(o, tonumber(v[2])), u = u}
end

function tokenBucket.advance(cfg, st, T)
  if st.last ~= nil then
    local dt = T - st.last
    local missing = cfg.full - st.u
    if dt > 0 and missing > 0 then
      if dt >= bw.cdiv(missing, cfg.A) then st.u = cfg.full else st.u = st.u + dt * cfg.A end
    end
  end
  st.last = T
end

function tokenBucket.acquire(cfg, st, cost)
  local need = cost * cfg.P
  if st.u >= need then
    st.u = st.u - need
    return true, 0
  end
  return false, bw.cdiv(need - st.u, cfg.A)
end

function tokenBucket.figures(cfg, st)
  local remaining = bw.fdiv(st.u, cfg.P)
  if remaining < 0 then remaining = 0 end
  return remaining, bw.cdiv(cfg.full - st.u, cfg.A)
end

function tokenBucket.refund(cfg, st, cost, admittedAt)
  local room = cfg.full - st.u
  if room <= 0 then return end
  if cost >= bw.cdiv(room, cfg.P) then st.u = cfg.full else st.u = st.u + cost * cfg.P end
end

function tokenBucket.charge(cfg, st, cost)
  local room = st.u + cfg.full   -- down to -C tokens; the excess is forgiven
  if room <= 0 then return end
  if cost >= bw.cdiv(room, cfg.P) then st.u = -cfg.full else st.u = st.u - cost * cfg.P end
end

function tokenBucket.save(keys, cfg, st)
  local ns = nil  -- kept: a full bucket is not a fresh one
  if not cfg.keep then ns = st.last + bw.cdiv(cfg.full - st.u, cfg.A) - bw.now end
  bw.store(keys[1], ns, 'l', st.last, 'u', st.u)
end
