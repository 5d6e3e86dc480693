-- A token budget (`Tests/Vectors/README.md`, `budget.json`): a chain (`chain`, whose source a
-- script puts first) whose links are the budget's dimensions, with reservations held in Redis.
-- `bw.budget(registry)` runs it, dispatching on the op; a script is the prelude, the modules,
-- `chain`, this source, a registry table and `return bw.budget(registry)`.
--
-- **KEYS**: one per dimension, in order (as `chain`'s links), then `KEYS[n + 1]`, the
-- budget's reservations. In a cluster every key of the call must hash to one slot.
--
-- **ARGV**, both ops: `[1]`, `[2]` the clock (both '' for Redis' TIME), `[3]` the op, `[4]` n,
-- then per dimension its module name, its configuration's argument count and arguments (exactly
-- as `chain`), then
--
--     'reserve': n estimates, the reservation's id (any text, unique among the budget's live
--                reservations: a reused id replaces the reservation), R = the reservation
--                timeout (nanoseconds, > 0)
--     'settle':  n actual figures (whole, ≥ 0), the reservation's id
--
-- No estimate may exceed its dimension's limit (the caller checks; `budget.json`'s `"error"`).
--
-- **reserve**: `chain`'s `acquire` of the estimates, same reply
-- (`{allowed, deniedBy, retryAfter, bw.sec, then per dimension remaining, resetAfter, T_j}`).
-- When allowed, the reservation is stored: admitted at each dimension's `T_j`, expiring at
-- `now + R` (the clock reading, not a dimension's `T_j`).
--
-- **settle**: if the reservation is held and `now` is before its expiry, each dimension with
-- `actual < estimate` is refunded the difference at its admission time `T_j`, each with
-- `actual > estimate` charged the overrun (debt), at the dimension's own `T = max(now, last)`,
-- and saved; dimensions with `actual = estimate` are not touched. Expired, nothing changes
-- (the estimate stands). Either way the reservation is deleted. Reply, the same shape:
--
--     {status, 0, 0, bw.sec, then per dimension remaining, resetAfter (-1: never), T_j}
--
-- with `status` 0 settled, 1 expired, 2 unknown (no such reservation: expired and pruned, the
-- key lost, or written for another number of dimensions; nothing changes, the caller treats it
-- as expired).
--
-- **Reservations key**: one hash. Header fields `o` (the second `bw.sec` it was written at),
-- `x` (at or before the earliest live reservation's expiry) and `m` (at or after the latest),
-- both nanoseconds after `o`; per reservation a field `#<id>` holding
-- `o:x:T_1:e_1:…:T_n:e_n`: the second it was written at, its expiry and each dimension's
-- admission time (nanoseconds after that second) and estimate. **Cost**: a reserve writes its
-- field and the header, a settle reads and deletes its field (O(1)), until `x` passes; then the
-- next reserve reads the whole hash (`HGETALL`, O(reservations)), drops the expired
-- reservations and makes `x` and `m` exact again.
--
-- **Exactness**: expiries and admission times are within `R` plus the key's age of `bw.sec`, so
-- with the modules' own bounds the script is exact when `R ≤ 2^51`.
--
-- **Lifetime**: the key expires at `m` (when every reservation it holds has expired; rounded up
-- to milliseconds); it is deleted when its last reservation is settled. With a driven clock it
-- is kept (no expiry), as the modules' keys are.
-- A reservation's text as numbers: o, expiry, then per dimension admission time and estimate.
function bw.fields(text)
  local v = {}
  for d in string.gmatch(text, '-?%d+') do v[#v + 1] = tonumber(d) end
  return v
end

-- The reservations' header {x, m} (ns from bw.sec; nil when none is held). When some
-- reservation may have expired (x ≤ now), reads them all, deletes the expired ones and makes
-- x and m exact.
function bw.held(key)
  local h = redis.call('HMGET', key, 'o', 'x', 'm')
  local r = {}
  if h[1] and h[2] and h[3] then
    local o = tonumber(h[1])
    r.x, r.m = bw.rel(o, tonumber(h[2])), bw.rel(o, tonumber(h[3]))
  end
  if r.x ~= nil and r.x <= bw.now then
    local all = redis.call('HGETALL', key)
    local x, m, dead = nil, nil, {}
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 1) == '#' then
        local v = bw.fields(all[i + 1])
        local e = 0
        if v[1] ~= nil and v[2] ~= nil then e = bw.rel(v[1], v[2]) end
        if e > bw.now then
          if x == nil or e < x then x = e end
          if m == nil or e > m then m = e end
        else
          dead[#dead + 1] = all[i]
        end
      end
    end
    for i = 1, #dead, 1000 do
      redis.call('HDEL', key, unpack(dead, i, math.min(i + 999, #dead)))
    end
    r.x, r.m = x, m
  end
  return r
end

function bw.reserve(links, i)
  local n = #links
  local costs = bw.numbers(i, n)
  local id, R = ARGV[i + n], tonumber(ARGV[i + n + 1])
  local allowed, by, retry = bw.take(links, costs)
  if allowed then
    local key = KEYS[n + 1]
    local h = bw.held(key)
    local e = bw.now + R
    local parts = {string.format('%d', bw.sec), string.format('%d', e)}
    for j = 1, n do
      parts[#parts + 1] = string.format('%d', links[j].T)
      parts[#parts + 1] = string.format('%d', costs[j])
    end
    local x, m = h.x, h.m
    if x == nil or e < x then x = e end
    if m == nil or e > m then m = e end
    redis.call('HSET', key, '#' .. id, table.concat(parts, ':'), 'o', string.format('%d', bw.sec),
      'x', string.format('%d', x), 'm', string.format('%d', m))
    bw.expire(key, m - bw.now)
  end
  return bw.reply(links, allowed, by, retry)
end

function bw.settle(links, i)
  local n = #links
  local actual = bw.numbers(i, n)
  local key, field = KEYS[n + 1], '#' .. ARGV[i + n]
  local text = redis.call('HGET', key, field)
  local status = 2
  if text then
    local v = bw.fields(text)
    if #v == 2 + 2 * n then
      local o = v[1]
      if bw.now >= bw.rel(o, v[2]) then
        status = 1
      else
        status = 0
        for j = 1, n do
          local L, at, guess = links[j], bw.rel(o, v[1 + 2 * j]), v[2 + 2 * j]
          if actual[j] < guess then
            L.M.refund(L.cfg, L.st, guess - actual[j], at)
            bw.keep(L)
          elseif actual[j] > guess then
            L.M.charge(L.cfg, L.st, actual[j] - guess)
            bw.keep(L)
          end
        end
      end
    end
    redis.call('HDEL', key, field)
    if redis.call('HLEN', key) <= 3 then redis.call('DEL', key) end  -- only the header is left
  end
  return bw.reply(links, status, 0, 0)
end

function bw.budget(registry)
  bw.clock(ARGV[1], ARGV[2])
  local op = ARGV[3]
  if op ~= 'reserve' and op ~= 'settle' then
    return redis.error_reply('ERR bulwark: unknown op ' .. tostring(op))
  end
  local links, i = bw.links(registry, 1)
  if links == nil then return redis.error_reply(i) end
  if op == 'reserve' then return bw.reserve(links, i) end
  return bw.settle(links, i)
end
