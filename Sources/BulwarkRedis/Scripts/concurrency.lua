-- The concurrency limit (`Tests/Vectors/README.md`, `concurrency.json`) as a script module, with
-- its in-flight units held as **leases**, so that a node that dies holding units does not leak
-- them: each lease has an id chosen by the client, a cost and an expiry, and an expired lease no
-- longer counts (it is dropped by the next call that notices it).
--
-- **Configuration** (`ARGV` from the module's first index): `limit N`, `lease TTL` (nanoseconds,
-- above 0), `lease id` (any text). Through `bw.single`: `acquire` of `c` adds `c` to the lease
-- (creating it, expiring at `T + TTL`; a lease already held keeps the later of its expiry and
-- `T + TTL`) when the live leases' total `f` allows it; `refund` (a release) takes `min(c, its
-- cost)` off that lease, deleting it at 0 (the admission time is ignored); `charge` adds
-- `min(c, 2N − f)` to it without the check. With one lease id per limiter (as the vectors use)
-- this is exactly the README's `f`.
--
-- Two more ops go through `bw.single` (`concurrency.ops`): `release` (`ARGV[4]` the cost to
-- give back, `''` for all of it; reply `{found, remaining, released, resetAfter, bw.sec, T}`)
-- and `renew` (the lease, if live, expires at `T + TTL`; reply `{found, remaining, TTL or 0,
-- resetAfter, bw.sec, T}`).
--
-- **Key**: one hash, `KEYS[1]`: `o` (the second `bw.sec` it was written at), `l` (the step's time
-- `T`, nanoseconds after `o`), `f` (the live leases' total), `x` (at or before the earliest live
-- lease's expiry) and `m` (at or after the latest), both nanoseconds after `o`; and per lease a
-- field `#<id>` holding `cost:second:expiry` (the expiry in nanoseconds after that second, the
-- one the lease was last written at). **Cost**: O(1) per call (the lease's field and the header)
-- until `x` passes; then one `HGETALL` (O(leases)) drops the expired leases and makes `x` and `m`
-- exact again. So a scan happens about once per (TTL − holding time), not per call.
--
-- **Exactness**: counts are whole, `0 ≤ f ≤ 2N` (`f + c ≤ 3N`); expiries are within `TTL` plus a
-- second and the lag of `bw.sec`. The script is exact when
--
--     N ≤ 2^51  and  TTL ≤ 2^51
--
-- **Lifetime**: a fresh key holds no lease. The key expires at `m` (when every lease it holds
-- has expired; rounded up to milliseconds), or is deleted when no lease is held (kept until its
-- `T` when that is ahead of `bw.now`; with a driven clock, which may go back, always kept).
-- `resetAfter` stays the README's: 0 with nothing in flight, else never (`-1`).
local concurrency = {}
concurrency.dead = {}  -- key -> fields of the expired leases its load found (deleted by save)

function concurrency.config(argv, i)
  return {N = tonumber(argv[i]), ttl = tonumber(argv[i + 1]), id = argv[i + 2]}
end

-- A lease field's value: its cost and its expiry (ns from bw.sec).
function concurrency.lease(text)
  local c, o, e = string.match(text, '^(%d+):(-?%d+):(-?%d+)$')
  return tonumber(c), bw.rel(tonumber(o), tonumber(e))
end

-- st: last, f, x, m; lc, le (the configured lease's cost, 0 if not held, and expiry); at (T).
-- Lease expiry is judged at T = max(bw.now, last), the T the driver evaluates the step at.
function concurrency.load(keys, cfg)
  local key = keys[1]
  local v = redis.call('HMGET', key, 'o', 'l', 'f', 'x', 'm', '#' .. cfg.id)
  local st = {f = 0, lc = 0}
  if not v[1] or not v[2] then return st end
  local o = tonumber(v[1])
  st.last = bw.rel(o, tonumber(v[2]))
  st.f = tonumber(v[3]) or 0
  if v[4] then st.x = bw.rel(o, tonumber(v[4])) end
  if v[5] then st.m = bw.rel(o, tonumber(v[5])) end
  local T = bw.now
  if st.last > T then T = st.last end
  st.at = T
  if st.x ~= nil and st.x <= T then
    -- Some lease may have expired: count the live ones again, remember the others.
    local all = redis.call('HGETALL', key)
    local f, x, m, dead = 0, nil, nil, {}
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 1) == '#' then
        local c, e = concurrency.lease(all[i + 1])
        if e > T then
          f = f + c
          if x == nil or e < x then x = e end
          if m == nil or e > m then m = e end
        else
          dead[#dead + 1] = all[i]
        end
      end
    end
    st.f, st.x, st.m = f, x, m
    concurrency.dead[key] = dead
  end
  if v[6] then
    local c, e = concurrency.lease(v[6])
    if e > T then st.lc, st.le = c, e end
  end
  return st
end

function concurrency.advance(cfg, st, T)
  st.at = T
end

-- Adds `cost` to the configured lease (creating it), expiring no earlier than T + TTL.
function concurrency.take(cfg, st, cost)
  local e = st.at + cfg.ttl
  if st.lc == 0 or st.le < e then st.le = e end
  st.lc = st.lc + cost
  st.f = st.f + cost
  st.dirty = 1
  if st.x == nil or st.le < st.x then st.x = st.le end
  if st.m == nil or st.le > st.m then st.m = st.le end
end

function concurrency.acquire(cfg, st, cost)
  if cost <= cfg.N and st.f + cost <= cfg.N then
    concurrency.take(cfg, st, cost)
    return true, 0
  end
  return false, bw.FOREVER
end

function concurrency.figures(cfg, st)
  local remaining = cfg.N - st.f
  if remaining < 0 then remaining = 0 end
  if st.f == 0 then return remaining, 0 end
  return remaining, bw.FOREVER
end

-- A release of `cost` from the configured lease (the admission time plays no part).
function concurrency.refund(cfg, st, cost, admittedAt)
  local back = st.lc
  if cost < back then back = cost end
  if back <= 0 then return end
  st.lc = st.lc - back
  st.f = st.f - back
  st.dirty = 1
end

function concurrency.charge(cfg, st, cost)
  local take = 2 * cfg.N - st.f
  if cost < take then take = cost end
  if take > 0 then concurrency.take(cfg, st, take) end
end

function concurrency.save(keys, cfg, st)
  local key = keys[1]
  local dead = concurrency.dead[key]
  concurrency.dead[key] = nil
  local fresh = st.last
  if st.f > 0 and st.m > fresh then fresh = st.m end
  local ns = fresh - bw.now
  if bw.keeps(ns) then
    if dead then
      for i = 1, #dead, 1000 do
        redis.call('HDEL', key, unpack(dead, i, math.min(i + 999, #dead)))
      end
    end
    local field = '#' .. cfg.id
    if st.lc > 0 then
      if st.dirty then
        redis.call('HSET', key, field, string.format('%d:%d:%d', st.lc, bw.sec, st.le))
      end
    else
      redis.call('HDEL', key, field)
    end
    redis.call('HSET', key, 'o', string.format('%d', bw.sec), 'l', string.format('%d', st.last),
      'f', string.format('%d', st.f))
    if st.f > 0 then
      redis.call('HSET', key, 'x', string.format('%d', st.x), 'm', string.format('%d', st.m))
    else
      redis.call('HDEL', key, 'x', 'm')
    end
  end
  bw.expire(key, ns)
end

-- The client's script: bw.single's ops, and `release` and `renew` of a lease.
-- The lease's own ops, through bw.single: `release` gives back `cost` of it (all of it when
-- the cost is ''), replying the amount released; `renew` makes a live lease expire at T + TTL,
-- replying the TTL (0 when the lease is not held).
concurrency.ops = {}

function concurrency.ops.release(cfg, st, T, cost)
  local amount = st.lc
  if cost ~= nil and cost < amount then amount = cost end
  concurrency.refund(cfg, st, amount, T)
  return st.lc + amount > 0 and 1 or 0, amount
end

function concurrency.ops.renew(cfg, st, T)
  if st.lc == 0 then return 0, 0 end
  st.le = T + cfg.ttl
  st.dirty = 1
  if st.x == nil or st.le < st.x then st.x = st.le end
  if st.m == nil or st.le > st.m then st.m = st.le end
  return 1, cfg.ttl
end
