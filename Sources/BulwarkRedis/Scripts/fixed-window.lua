-- The fixed window (`Tests/Vectors/README.md`, `fixed-window.json`) as a script module.
--
-- **Configuration** (`ARGV` from the module's first index): `limit L`, `window W`
-- (nanoseconds), `epoch E` (nanoseconds, the decimal text of any `Int64`; `E mod W` works as
-- well, only `E mod W` matters). Windows start at `E + k×W` nanoseconds of the clock, which for
-- Redis' `TIME` is the Unix epoch. The script reads `E` as `hi × 10^9 + lo` from its text, so it
-- is exact whatever its size.
--
-- **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
-- step's time `T`, nanoseconds after `o`), `s` (the start of the current window, nanoseconds
-- after `o`, in place of its index `k`) and `n` (its count).
--
-- **Exactness**: counts are whole (`0 ≤ n ≤ 2L`, `n + c ≤ 3L`). The window containing `T` needs
-- `(bw.sec × 10^9 − E) mod W` = `((bw.sec − hi) mod W) × 10^9 − lo` reduced mod `W`, the product
-- by doubling and adding modulo `W` (every intermediate below `2W`), and durations are at most
-- `W`, so the script is exact when
--
--     W ≤ 2^52  and  L ≤ 2^51
--
-- with `T` and the lag (nanoseconds from `bw.sec`) below 2^52 ≈ 52 days.
--
-- **Lifetime**: a fresh key is the window of `T` with a count of 0. A window with `n > 0` expires
-- at its end (`s + W`, rounded up to milliseconds); with `n = 0` the key is deleted (kept until
-- its `T` when that is ahead of `bw.now`; with a driven clock, which may go back, always kept).
local fixedWindow = {}

function fixedWindow.config(argv, i)
  local cfg = {L = tonumber(argv[i]), W = tonumber(argv[i + 1])}
  cfg.eh, cfg.el = bw.epoch(argv[i + 2])
  return cfg
end

-- The start of the window holding T (nanoseconds from bw.sec).
function fixedWindow.start(cfg, T)
  if cfg.phase == nil then cfg.phase = bw.phase(cfg.eh, cfg.el, cfg.W) end
  return T - bw.mod(cfg.phase + T, cfg.W)
end

function fixedWindow.load(keys, cfg)
  local v = redis.call('HMGET', keys[1], 'o', 'l', 's', 'n')
  if not v[1] or not v[2] or not v[3] or not v[4] then return {n = 0} end
  local o = tonumber(v[1])
  local n = tonumber(v[4])
  if n > 2 * cfg.L then n = 2 * cfg.L elseif n < 0 then n = 0 end
  return {last = bw.rel(o, tonumber(v[2])), s = bw.rel(o, tonumber(v[3])), n = n}
end

function fixedWindow.advance(cfg, st, T)
  if st.s == nil or T < st.s or T >= st.s + cfg.W then
    st.s, st.n = fixedWindow.start(cfg, T), 0
  end
  st.last = T
end

function fixedWindow.acquire(cfg, st, cost)
  if st.n + cost <= cfg.L then
    st.n = st.n + cost
    return true, 0
  end
  return false, st.s + cfg.W - st.last
end

function fixedWindow.figures(cfg, st)
  local remaining = cfg.L - st.n
  if remaining < 0 then remaining = 0 end
  if st.n > 0 then return remaining, st.s + cfg.W - st.last end
  return remaining, 0
end

function fixedWindow.refund(cfg, st, cost, admittedAt)
  if admittedAt >= st.s and admittedAt < st.s + cfg.W then
    if cost >= st.n then st.n = 0 else st.n = st.n - cost end
  end
end

function fixedWindow.charge(cfg, st, cost)
  if cost >= 2 * cfg.L - st.n then st.n = 2 * cfg.L else st.n = st.n + cost end
end

function fixedWindow.save(keys, cfg, st)
  local fresh = st.last
  if st.n > 0 then fresh = st.s + cfg.W end
  bw.store(keys[1], fresh - bw.now, 'l', st.last, 's', st.s, 'n', st.n)
end
