-- The sliding-window log (`Tests/Vectors/README.md`, `sliding-window-log.json`) as a script
-- module; with segments, also the segmented window (``segmentedWindow``): a log whose entries
-- are the segments' starts instead of the admissions' times.
--
-- **Configuration** (`ARGV` from the module's first index): `limit L`, `window W` (nanoseconds).
--
-- **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
-- step's time `T`, nanoseconds after `o`) and `e`, the log: its entries oldest first as
-- `time:cost` joined by `,`, each time in nanoseconds after `o` (an entry older than `T − W` is
-- never stored). One entry per distinct time, each with a cost of at least 1, so the log holds
-- at most `2L` entries (`L` without debt). **Cost**: every call reads, parses and (when it
-- changes anything) rewrites the whole field: O(entries) time, about 20 bytes per entry; a
-- refund finds its entry by a scan from the newest.
--
-- **Exactness**: costs and totals are whole, at most `2L + L`; times are within `W` plus the key's
-- age (at most `W` plus a second and the lag) of `bw.sec`, so the script is exact when
--
--     L ≤ 2^51  and  W ≤ 2^51
--
-- **Lifetime**: a fresh key is an empty log. The key expires when its newest entry leaves the
-- window (`time + W`, rounded up to milliseconds), or is deleted when the log is empty (kept until
-- its `T` when that is ahead of `bw.now`; with a driven clock, which may go back, always kept).
local slidingWindowLog = {}

function slidingWindowLog.config(argv, i)
  return {L = tonumber(argv[i]), W = tonumber(argv[i + 1])}
end

-- Where an admission at time t is logged: t itself, or with segments of cfg.S the start of
-- t's segment.
function slidingWindowLog.slot(cfg, t)
  if cfg.S == nil then return t end
  if cfg.ph == nil then cfg.ph = bw.phase(cfg.eh, cfg.el, cfg.S) end
  return t - bw.mod(cfg.ph + t, cfg.S)
end

-- st: last, t (entry times, oldest first), c (their costs); after advance also at (T), j (T's
-- slot), s (sum).
function slidingWindowLog.load(keys, cfg)
  local v = redis.call('HMGET', keys[1], 'o', 'l', 'e')
  local st = {t = {}, c = {}}
  if not v[1] or not v[2] then return st end
  local o = tonumber(v[1])
  st.last = bw.rel(o, tonumber(v[2]))
  local shift = (o - bw.sec) * 1000000000
  local n = 0
  for t, c in string.gmatch(v[3] or '', '(-?%d+):(%d+)') do
    n = n + 1
    st.t[n] = tonumber(t) + shift
    st.c[n] = tonumber(c)
  end
  return st
end

-- Drops the entries that have left the window (time ≤ slot(T) − W) and sums the others.
function slidingWindowLog.advance(cfg, st, T)
  local j = slidingWindowLog.slot(cfg, T)
  local t, c = st.t, st.c
  local cut, first, n = j - cfg.W, 1, #t
  while first <= n and t[first] <= cut do first = first + 1 end
  if first > 1 then
    local nt, nc, k = {}, {}, 0
    for i = first, n do
      k = k + 1
      nt[k] = t[i]
      nc[k] = c[i]
    end
    st.t, st.c = nt, nc
  end
  local s = 0
  for i = 1, #st.c do s = s + st.c[i] end
  st.s, st.at, st.j = s, T, j
end

-- Logs `cost` in T's slot (adding to its entry if there is one).
function slidingWindowLog.add(st, cost)
  local n = #st.t
  if n > 0 and st.t[n] == st.j then
    st.c[n] = st.c[n] + cost
  else
    st.t[n + 1] = st.j
    st.c[n + 1] = cost
  end
  st.s = st.s + cost
end

function slidingWindowLog.acquire(cfg, st, cost)
  local L = cfg.L
  if cost > L then return false, bw.FOREVER end
  if st.s + cost <= L then
    slidingWindowLog.add(st, cost)
    return true, 0
  end
  -- The oldest entries holding `need` leave at their time + W.
  local need, sum = st.s + cost - L, 0
  for i = 1, #st.t do
    sum = sum + st.c[i]
    if sum >= need then return false, st.t[i] + cfg.W - st.at end
  end
  return false, bw.FOREVER  -- unreachable: a cost within the limit fits once the log is empty
end

function slidingWindowLog.figures(cfg, st)
  local remaining = cfg.L - st.s
  if remaining < 0 then remaining = 0 end
  local n = #st.t
  if n > 0 then return remaining, st.t[n] + cfg.W - st.at end
  return remaining, 0
end

-- The entry of the admission's slot, if still logged, gives back up to `cost`; at 0 it goes.
function slidingWindowLog.refund(cfg, st, cost, admittedAt)
  local t, at = st.t, slidingWindowLog.slot(cfg, admittedAt)
  for i = #t, 1, -1 do
    if t[i] == at then
      local back = st.c[i]
      if cost < back then back = cost end
      st.c[i] = st.c[i] - back
      st.s = st.s - back
      if st.c[i] == 0 then
        table.remove(st.t, i)
        table.remove(st.c, i)
      end
      return
    end
    if t[i] < at then return end
  end
end

function slidingWindowLog.charge(cfg, st, cost)
  local take = 2 * cfg.L - st.s
  if cost < take then take = cost end
  if take > 0 then slidingWindowLog.add(st, take) end
end

function slidingWindowLog.save(keys, cfg, st)
  local n = #st.t
  local fresh = st.last
  if n > 0 and st.t[n] + cfg.W > fresh then fresh = st.t[n] + cfg.W end
  local parts = {}
  for i = 1, n do parts[i] = string.format('%d:%d', st.t[i], st.c[i]) end
  bw.store(keys[1], fresh - bw.now, 'l', string.format('%d', st.last), 'e', table.concat(parts, ','))
end
