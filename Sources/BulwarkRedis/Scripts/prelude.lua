-- The Lua that every Bulwark script starts with: the clock, exact integer division, key expiry
-- and the driver that applies the rules every limiter shares (time never goes back, probes change
-- nothing) around one algorithm's module.
--
-- Lua numbers are doubles: every value a script computes stays below 2^53 in magnitude, where a
-- double is an exact integer. Times are therefore never absolute nanoseconds (1.7 × 10^18 today):
-- a script reads Redis' `TIME` as whole seconds `bw.sec` and nanoseconds `bw.now` within that
-- second, and every time it handles is counted in nanoseconds from `bw.sec`. A state stores the
-- second it was written at (`o`) with its times counted from it; loading shifts them by
-- `(o − bw.sec) × 10^9`, exact while a key is younger than 104 days (keys expire long before).
local bw = {}
bw.FOREVER = -1  -- a duration that never elapses (Int64.max on the Swift side)

-- The clock: ARGV[1], ARGV[2] give seconds and nanoseconds when the caller drives time (tests,
-- vectors); empty, the script reads Redis' TIME, so every node sees the same time.
function bw.clock(sec_arg, nsec_arg)
  if sec_arg ~= '' then
    bw.sec = tonumber(sec_arg); bw.now = tonumber(nsec_arg); bw.fake = true
  else
    local t = redis.call('TIME')
    bw.sec = tonumber(t[1]); bw.now = tonumber(t[2]) * 1000; bw.fake = false
  end
end

-- A time stored as `x` nanoseconds after second `o`, counted from bw.sec instead.
function bw.rel(o, x)
  return x + (o - bw.sec) * 1000000000
end

-- floor(a / b) for integers below 2^53, b > 0, exact (the quotient of two doubles is rounded).
function bw.fdiv(a, b)
  local q = math.floor(a / b)
  local r = a - q * b
  if r < 0 then q = q - 1 elseif r >= b then q = q + 1 end
  return q
end

-- ceil(a / b) for integers below 2^53, b > 0, exact.
function bw.cdiv(a, b)
  return -bw.fdiv(-a, b)
end

function bw.gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

-- x mod m (floor modulo), exact for |x| < 2^53, m > 0.
function bw.mod(x, m)
  return x - bw.fdiv(x, m) * m
end

-- An epoch's decimal text (any Int64, which need not fit a double) as eh × 10^9 + el, exactly.
function bw.epoch(text)
  local eh, el = 0, 0
  local sign, digits = string.match(text or '', '^([-+]?)(%d+)$')
  if digits then
    if #digits > 9 then
      eh = tonumber(string.sub(digits, 1, -10))
      el = tonumber(string.sub(digits, -9))
    else
      el = tonumber(digits)
    end
    if sign == '-' then eh, el = -eh, -el end
  end
  return eh, el
end

-- Where bw.sec falls on a grid of length G ≤ 2^52 starting at the epoch eh × 10^9 + el:
-- (bw.sec × 10^9 − E) mod G. a = (bw.sec − eh) mod G times b = 10^9 mod G, directly when
-- a·b < 2^53, else by doubling and adding over the bits of b (every value < 2G); then − el.
-- A time T (ns from bw.sec) is in the cell starting at T − bw.mod(phase + T, G).
function bw.phase(eh, el, G)
  local a, b = bw.mod(bw.sec - eh, G), bw.mod(1000000000, G)
  local r = a * b
  if r < 9007199254740992 then
    r = bw.mod(r, G)
  else
    r = 0
    local bit = 1
    while bit * 2 <= b do bit = bit * 2 end
    while bit >= 1 do
      r = r + r
      if r >= G then r = r - G end
      if b >= bit then
        b = b - bit
        r = r + a
        if r >= G then r = r - G end
      end
      bit = bit / 2
    end
  end
  return bw.mod(r - el, G)
end

-- Whether a state that equals a fresh one in `ns` nanoseconds (nil: never) is worth writing:
-- it is not fresh yet, or the caller drives the clock, which may go back, so `last` must stay.
function bw.keeps(ns)
  return ns == nil or ns > 0 or bw.fake
end

-- The key lives `ns` more nanoseconds (rounded up to milliseconds): the moment its state equals
-- a fresh one. 0 or less: the state is fresh now, so the key goes. nil: it never expires. When
-- the caller drives the clock, its time is not Redis' own, so the key is kept without expiry.
function bw.expire(key, ns)
  if ns == nil or bw.fake then
    redis.call('PERSIST', key)
  elseif ns <= 0 then
    redis.call('DEL', key)
  else
    redis.call('PEXPIRE', key, bw.cdiv(ns, 1000000))
  end
end

-- Saves a state: its fields (name, value, …) after `o` = bw.sec when bw.keeps(ns), then the
-- key's lifetime by bw.expire.
function bw.store(key, ns, ...)
  if bw.keeps(ns) then redis.call('HSET', key, 'o', string.format('%d', bw.sec), ...) end
  bw.expire(key, ns)
end

function bw.later(lag, d)
  if d == bw.FOREVER then return bw.FOREVER end
  return lag + d
end

-- One limiter, one decision. KEYS: the module's keys. ARGV: clock seconds, clock nanoseconds
-- (both '' for Redis' TIME), op ('acquire', 'refund', 'charge', or one of the module's `ops`), cost, the admission's second and
-- nanoseconds from it (refund only, else ''), then the module's configuration from ARGV[7].
-- Reply: allowed (1/0), remaining, retryAfter, resetAfter (-1: never), and the step's time T as
-- second and nanoseconds from it (a refund names that admission later).
function bw.single(M)
  bw.clock(ARGV[1], ARGV[2])
  local op, cost = ARGV[3], tonumber(ARGV[4])
  local cfg = M.config(ARGV, 7)
  local st = M.load(KEYS, cfg)
  local T = bw.now
  if st.last ~= nil and st.last > T then T = st.last end
  local lag = T - bw.now
  M.advance(cfg, st, T)
  if op == 'acquire' then
    local allowed, wait = true, 0
    if cost > 0 then allowed, wait = M.acquire(cfg, st, cost) end
    local remaining, reset = M.figures(cfg, st)
    if cost > 0 then
      st.last = T
      M.save(KEYS, cfg, st)
    end
    if allowed then wait = 0 else wait = bw.later(lag, wait) end
    return {allowed and 1 or 0, remaining, wait, bw.later(lag, reset), bw.sec, T}
  elseif op == 'refund' then
    M.refund(cfg, st, cost, bw.rel(tonumber(ARGV[5]), tonumber(ARGV[6])))
  elseif op == 'charge' then
    M.charge(cfg, st, cost)
  elseif M.ops ~= nil and M.ops[op] ~= nil then
    -- A module's own op (a lease's release or renewal): reply {found, remaining, amount, …}.
    local found, amount = M.ops[op](cfg, st, T, cost)
    st.last = T
    M.save(KEYS, cfg, st)
    local remaining, reset = M.figures(cfg, st)
    return {found, remaining, amount, bw.later(lag, reset), bw.sec, T}
  else
    return redis.error_reply('ERR bulwark: unknown op ' .. tostring(op))
  end
  st.last = T
  M.save(KEYS, cfg, st)
  local remaining, reset = M.figures(cfg, st)
  return {1, remaining, 0, bw.later(lag, reset), bw.sec, T}
end
