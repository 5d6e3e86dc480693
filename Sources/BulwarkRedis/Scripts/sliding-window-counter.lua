-- The sliding-window counter (`Tests/Vectors/README.md`, `sliding-window-counter.json`) as a
-- script module.
--
-- **Configuration** (`ARGV` from the module's first index): `limit L`, `window W` (nanoseconds),
-- `epoch E` (nanoseconds, the decimal text of any `Int64`, or `E mod W`: only `E mod W` matters;
-- windows start at `E + k×W` nanoseconds of the clock, which for Redis' `TIME` is the Unix epoch).
-- The script reads `E` as `hi × 10^9 + lo` from its text, so it is exact whatever its size.
--
-- **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
-- step's time `T`, nanoseconds after `o`), `s` (the start of the current window, nanoseconds
-- after `o`, in place of its index `k`), `p` (the previous window's count) and `n` (the current
-- window's count). O(1) per call.
--
-- **Exactness**: the estimate is compared in units of `1/W`, `p·(W − e) ≤ (L − c − n)·W`
-- (`0 ≤ p, n ≤ 2L`, `0 ≤ e < W`), as `W − e ≤ fdiv((L − c − n)·W, p)` so that no product exceeds
-- `L·W`; the retry-after solves the same inequalities exactly (`fdiv((L − c − n)·W, p)`,
-- `fdiv((L − c)·W, n)`), and `remaining` forms `p·(W − e)` only when it is below `(L − n)·W`
-- (otherwise `remaining` is 0); counts stay at most `3L`. Window starts come from
-- `(bw.sec × 10^9 − E) mod W`, by doubling and adding modulo `W` (every value below `2W`), and
-- times stay within `3W` plus a second and the lag of `bw.sec`. The script is exact when
--
--     L × W < 2^53  and  W ≤ 2^51  and  L ≤ 2^51
--
-- **Lifetime**: a fresh key is the window of `T` with `p = n = 0`. The key expires when the
-- estimate reaches 0 for good: at `s + 2W` when `n > 0`, at `s + W` when only `p > 0` (rounded up
-- to milliseconds); with `p = n = 0` it is deleted (kept until its `T` when that is ahead of
-- `bw.now`; with a driven clock, which may go back, always kept).
local slidingWindowCounter = {}

function slidingWindowCounter.config(argv, i)
  local cfg = {L = tonumber(argv[i]), W = tonumber(argv[i + 1])}
  cfg.eh, cfg.el = bw.epoch(argv[i + 2])
  return cfg
end

-- st: last, s (start of the current window, ns from bw.sec), p, n; after advance also at (T).
function slidingWindowCounter.load(keys, cfg)
  cfg.ph = bw.phase(cfg.eh, cfg.el, cfg.W)
  local v = redis.call('HMGET', keys[1], 'o', 'l', 's', 'p', 'n')
  if not v[1] or not v[2] or not v[3] then return {p = 0, n = 0} end
  local o = tonumber(v[1])
  return {last = bw.rel(o, tonumber(v[2])), s = bw.rel(o, tonumber(v[3])),
    p = tonumber(v[4]) or 0, n = tonumber(v[5]) or 0}
end

function slidingWindowCounter.advance(cfg, st, T)
  local W = cfg.W
  local s = T - bw.mod(cfg.ph + T, W)
  if st.s == nil or s - st.s >= 2 * W then
    st.p, st.n = 0, 0
  elseif s - st.s == W then
    st.p, st.n = st.n, 0
  end
  st.s, st.at = s, T
end

-- Allowed iff p·(W − e)/W + n + c ≤ L, else the smallest whole x with the estimate at T + x
-- (windows rolling) letting c in: in this window, the next, or the one after.
function slidingWindowCounter.acquire(cfg, st, cost)
  local L, W, p, n = cfg.L, cfg.W, st.p, st.n
  if cost > L then return false, bw.FOREVER end
  local e, room = st.at - st.s, L - cost
  if n <= room then
    -- p·(W − e) ≤ (room − n)·W, without the product p·(W − e) (p may reach 2L): with p > 0,
    -- the whole y satisfies p·y ≤ R exactly when y ≤ floor(R/p).
    local q = W
    if p > 0 then q = bw.fdiv((room - n) * W, p) end
    if W - e <= q then
      st.n = n + cost
      return true, 0
    end
    -- In this window: the smallest x with W − e − x ≤ q, if it comes before the window ends.
    local x = W - e - q
    if x < 0 then x = 0 end
    if x < W - e then return false, x end
  end
  if n == 0 then return false, W - e end
  local e2 = W - bw.fdiv(room * W, n)  -- next window: n·(W − e2) ≤ room·W
  if e2 < 0 then e2 = 0 end
  if e2 < W then return false, W - e + e2 end
  return false, 2 * W - e
end

function slidingWindowCounter.figures(cfg, st)
  local W = cfg.W
  local e, p, r = st.at - st.s, st.p, cfg.L - st.n
  -- floor(L − n − p·(W − e)/W) = r − ceil(p·(W − e)/W), and 0 once p·(W − e) ≥ r·W, so the
  -- product p·(W − e) is formed only below r·W ≤ L·W.
  local remaining = 0
  if r > 0 and (p == 0 or W - e < bw.cdiv(r * W, p)) then
    remaining = r - bw.cdiv(p * (W - e), W)
  end
  if st.n > 0 then return remaining, 2 * W - e end
  if st.p > 0 then return remaining, W - e end
  return remaining, 0
end

function slidingWindowCounter.refund(cfg, st, cost, admittedAt)
  local s, W = st.s, cfg.W
  if admittedAt >= s and admittedAt < s + W then
    st.n = st.n - cost
    if st.n < 0 then st.n = 0 end
  elseif admittedAt >= s - W and admittedAt < s then
    st.p = st.p - cost
    if st.p < 0 then st.p = 0 end
  end
end

function slidingWindowCounter.charge(cfg, st, cost)
  local n = st.n + cost
  if n > 2 * cfg.L then n = 2 * cfg.L end
  st.n = n
end

function slidingWindowCounter.save(keys, cfg, st)
  local fresh = st.last
  if st.n > 0 then
    if st.s + 2 * cfg.W > fresh then fresh = st.s + 2 * cfg.W end
  elseif st.p > 0 then
    if st.s + cfg.W > fresh then fresh = st.s + cfg.W end
  end
  bw.store(keys[1], fresh - bw.now, 'l', string.format('%d', st.last), 's', string.format('%d', st.s),
    'p', string.format('%d', st.p), 'n', string.format('%d', st.n))
end
