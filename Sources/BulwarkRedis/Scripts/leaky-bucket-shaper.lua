-- The leaky bucket as a shaper (`Tests/Vectors/README.md`, `leaky-bucket-shaper.json`) as a
-- script module, built on ``gcra`` (whose source a script puts first): the same next-release
-- time `θ`, loaded, advanced by costs, capped and refunded by GCRA's functions, with burst `M`.
--
-- **Configuration** (`ARGV` from the module's first index): `rate R`, `period P` (nanoseconds),
-- `maximumCost M`.
--
-- **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
-- step's time `T`, nanoseconds after `o`), `q` and `f` (the next release `θ`, below).
--
-- **Fixed point**: with `g = gcd(R, P)`, `R' = R/g`, `P' = P/g`, the interval is `I = P'/R'`
-- and `θ = q + f/R'` with `q` whole nanoseconds after `o` and `0 ≤ f < R'`; adding `c×I` adds
-- `c×P'` to `f` and carries whole nanoseconds into `q`. A `θ` at or before `T − 1` behaves
-- exactly like `θ = T` (free; the grid restarts at `T` either way), so the state is normalised
-- to that and `T − 1 < θ ≤ T + 2×M×I` always holds. The largest intermediate is
-- `f + c×P' < R' + 2×M×P'` and the longest duration `2×M×I ≤ 2×M×P'` ns, so the script is exact
-- when
--
--     2 × M × P' + R' ≤ 2^52        (P' = P / gcd(R, P), R' = R / gcd(R, P))
--
-- leaving room for the times `θ` is counted in (`T` and the lag, nanoseconds from `bw.sec`, well
-- below 2^52 ≈ 52 days).
--
-- **Lifetime**: a fresh key is `θ = T`; the state equals it from the moment `t` with
-- `θ ≤ t − 1`, or `θ ≤ t` when `θ` is whole (`t = q` when `f = 0`, else `q + 2`), and never
-- before its `T`. The key expires then (rounded up to milliseconds), or is deleted at once
-- (with a driven clock, which may go back, always kept).
local leakyBucketShaper = setmetatable({}, {__index = gcra})

-- GCRA's configuration with burst M: θ in units of 1/R', capped at T + 2·M·I.
function leakyBucketShaper.config(argv, i)
  local cfg = gcra.config(argv, i)
  cfg.M = cfg.B
  cfg.after = 2  -- GCRA's save: a fractional θ is fresh from q + 2 (θ ≤ t − 1)
  return cfg
end

function leakyBucketShaper.ceil(st)
  if st.f > 0 then return st.q + 1 end
  return st.q
end

function leakyBucketShaper.advance(cfg, st, T)
  -- θ ≤ T − 1 (or a fresh state) behaves as θ = T.
  if st.q == nil or st.q < T - 1 or (st.q == T - 1 and st.f == 0) then
    st.q, st.f = T, 0
  else
    gcra.cap(cfg, st, T)               -- a no-op unless the configuration changed
  end
  st.last = T
end

function leakyBucketShaper.acquire(cfg, st, cost)
  local T = st.last
  local c = leakyBucketShaper.ceil(st)
  if c > T then return false, c - T end
  -- Free, and θ > T − 1 after advance: the release keeps the grid (T < θ + 1).
  gcra.add(cfg, st, cost * cfg.P)
  return true, 0
end

function leakyBucketShaper.figures(cfg, st)
  local T = st.last
  local c = leakyBucketShaper.ceil(st)
  if c <= T then return cfg.M, 0 end
  return 0, c - T
end

-- Refunds and saves are GCRA's (θ = max(θ − c·I, T)); a charge starts from max(θ, T) as GCRA's does.
function leakyBucketShaper.charge(cfg, st, cost)
  if st.q < st.last then st.q, st.f = st.last, 0 end
  gcra.charge(cfg, st, cost)
end

