-- GCRA (`Tests/Vectors/README.md`, `gcra.json`) as a script module.
--
-- **Configuration** (`ARGV` from the module's first index): `rate R`, `period P` (nanoseconds),
-- `burst B`.
--
-- **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
-- step's time `T`, nanoseconds after `o`), `q` and `f` (the theoretical arrival time `θ`, below).
--
-- **Fixed point**: with `g = gcd(R, P)`, `R' = R/g`, `P' = P/g`, the emission interval is
-- `E = P'/R'` and `θ = q + f/R'` with `q` whole nanoseconds after `o` and `0 ≤ f < R'`; adding
-- `c×E` adds `c×P'` to `f` and carries whole nanoseconds into `q`. Only `max(θ, T)` matters, so
-- the state is normalised to `T ≤ θ ≤ T + 2×B×E`, and `a = (θ − T)×R' = (q − T)×R' + f` lies
-- in `0 ... 2×B×P'`. The largest intermediate is `f + c×P' < R' + 2×B×P'` and the longest
-- duration `2×B×E ≤ 2×B×P'` ns, so the script is exact when
--
--     2 × B × P' + R' ≤ 2^52        (P' = P / gcd(R, P), R' = R / gcd(R, P))
--
-- leaving room for the times `θ` is counted in (`T` and the lag, nanoseconds from `bw.sec`, well
-- below 2^52 ≈ 52 days).
--
-- **Lifetime**: a fresh key is `θ = T`; the state equals it once `θ ≤ t`, at `t = ceil(θ)`. The
-- key expires then (rounded up to milliseconds), or is deleted at once when `ceil(θ) ≤ bw.now`
-- (with a driven clock, which may go back, always kept).
local gcra = {}

function gcra.config(argv, i)
  local R, P, B = tonumber(argv[i]), tonumber(argv[i + 1]), tonumber(argv[i + 2])
  local g = bw.gcd(R, P)
  local cfg = {R = R / g, P = P / g, B = B}
  cfg.burst = B * cfg.P                -- B·E, in units of 1/R'
  local top = 2 * cfg.burst            -- 2·B·E, the most θ runs ahead of T
  cfg.topq = bw.fdiv(top, cfg.R)
  cfg.topf = top - cfg.topq * cfg.R
  cfg.after = 1                        -- a fractional θ is fresh from ceil(θ) = q + 1
  return cfg
end

function gcra.load(keys, cfg)
  local v = redis.call('HMGET', keys[1], 'o', 'l', 'q', 'f')
  if not v[1] or not v[2] or not v[3] or not v[4] then return {} end
  local o = tonumber(v[1])
  local f = tonumber(v[4])
  if f < 0 or f >= cfg.R then f = 0 end  -- written under another configuration
  return {last = bw.rel(o, tonumber(v[2])), q = bw.rel(o, tonumber(v[3])), f = f}
end

-- θ += units / R' (|units| ≤ 2·B·P').
function gcra.add(cfg, st, units)
  local s = st.f + units
  local d = bw.fdiv(s, cfg.R)
  st.q = st.q + d
  st.f = s - d * cfg.R
end

-- θ = min(θ, T + 2·B·E).
function gcra.cap(cfg, st, T)
  if st.q > T + cfg.topq or (st.q == T + cfg.topq and st.f > cfg.topf) then
    st.q, st.f = T + cfg.topq, cfg.topf
  end
end

function gcra.advance(cfg, st, T)
  if st.q == nil or st.q < T then
    st.q, st.f = T, 0                  -- θ = max(θ, T)
  else
    gcra.cap(cfg, st, T)               -- a no-op unless the configuration changed
  end
  st.last = T
end

function gcra.acquire(cfg, st, cost)
  local a = (st.q - st.last) * cfg.R + st.f     -- (θ − T)·R'
  local room = cfg.burst - cost * cfg.P         -- allowed iff a + c·P' ≤ B·P'
  if a <= room then
    gcra.add(cfg, st, cost * cfg.P)
    return true, 0
  end
  return false, bw.cdiv(a - room, cfg.R)
end

function gcra.figures(cfg, st)
  local a = (st.q - st.last) * cfg.R + st.f
  local remaining = bw.fdiv(cfg.burst - a, cfg.P)
  if remaining < 0 then remaining = 0 end
  local reset = st.q - st.last
  if st.f > 0 then reset = reset + 1 end
  return remaining, reset
end

function gcra.refund(cfg, st, cost, admittedAt)
  local T = st.last
  if cost >= 2 * cfg.B then
    st.q, st.f = T, 0
    return
  end
  gcra.add(cfg, st, -cost * cfg.P)
  if st.q < T then st.q, st.f = T, 0 end
end

function gcra.charge(cfg, st, cost)
  local T = st.last
  if cost >= 2 * cfg.B then
    st.q, st.f = T + cfg.topq, cfg.topf
    return
  end
  gcra.add(cfg, st, cost * cfg.P)
  gcra.cap(cfg, st, T)
end

function gcra.save(keys, cfg, st)
  local fresh = st.q
  if st.f > 0 then fresh = st.q + cfg.after end
  if fresh < st.last then fresh = st.last end
  bw.store(keys[1], fresh - bw.now, 'l', st.last, 'q', st.q, 'f', st.f)
end
