-- A chain (`Tests/Vectors/README.md`, `chain.json`): several limiters, the links, decided
-- all-or-nothing in one script call. `bw.chain(registry)` runs it; `registry` maps module names
-- (`tokenBucket`, ``gcra``, ``leakyBucketShaper``, `fixedWindow`, ``slidingWindowLog``,
-- `slidingWindowCounter`, ``segmentedWindow``, `concurrency`) to the module tables, so a script is
-- the prelude, the modules it names (``gcra`` before ``leakyBucketShaper``, ``slidingWindowLog``
-- before ``segmentedWindow``), this source, a registry table and `return bw.chain(registry)`.
--
-- **KEYS**: one per link, in order (`KEYS[j]` is link `j`'s module key; keys distinct). In a
-- cluster every key of the call must hash to one slot (one hash tag).
--
-- **ARGV**:
--
--     [1] clock seconds, [2] clock nanoseconds   (both '' for Redis' TIME, as bw.single)
--     [3] op: 'acquire', 'refund' or 'charge'
--     [4] n, the number of links
--     then per link j = 1 ... n:  module name, k (its configuration's argument count),
--                                 its k configuration arguments (as bw.single's from ARGV[7])
--     then n costs, cost_1 ... cost_n (whole, ≥ 0)
--     then, 'refund' only, per link j: the admission's second and nanoseconds from it
--                                      (bw.sec and T_j of the acquire reply), 2n values
--
-- **Reply** (every op): a flat integer array of `4 + 3n` values
--
--     {allowed (1/0), deniedBy (1-based link, 0 when allowed), retryAfter (-1: never), bw.sec,
--      then per link j: remaining_j, resetAfter_j (-1: never), T_j}
--
-- `remaining_j` and `resetAfter_j` are link `j`'s figures after the step as a probe would
-- report them (with its lag); `T_j = max(now, link j's last)` in nanoseconds from `bw.sec`, the
-- link's admission time when allowed (what a refund names later).
--
-- **acquire**: each link is evaluated at its own `T_j`. Links are tried in order; a cost of 0
-- takes nothing and never denies (the link is not touched). When link `i` denies, every earlier
-- link `j` with a cost is refunded `cost_j` at `T_j`; then every link's wait for its cost is
-- taken on a copy of its state (0 for a cost of 0 or a link that could take it, else its lag +
-- retry-after); `retryAfter` is the largest (never, -1, above all) and `deniedBy` the first link
-- with it. Links after `i` are looked at, never touched: not saved, their `last` not moved.
-- Saved, each by its module's `save` with `last = T_j` (so with its module's key lifetime):
-- every link with a cost up to the denying one (all of them when allowed).
--
-- **refund** / **charge**: each link with a cost above 0 is given back `cost_j` of the
-- admission at its (second, nanoseconds) / charged `cost_j`, at `T_j`, and saved; links with a
-- cost of 0 are not touched. The reply has allowed 1, deniedBy 0, retryAfter 0.
-- A deep copy of a plain table (a module's state), for looking without touching.
function bw.copy(x)
  if type(x) ~= 'table' then return x end
  local y = {}
  for k, v in pairs(x) do y[k] = bw.copy(v) end
  return y
end

-- A duration's order, never (-1) above every other.
function bw.order(d)
  if d == bw.FOREVER then return math.huge end
  return d
end

-- Reads the links (ARGV from 4; KEYS holds one per link and `extra` more), loads each one's
-- state and advances it to its T = max(bw.now, last) in memory. Returns the links and the ARGV
-- index after them, or nil and an error text.
function bw.links(registry, extra)
  local n = tonumber(ARGV[4])
  if n == nil or n < 1 or n + extra ~= #KEYS then
    return nil, 'ERR bulwark: link count ' .. tostring(ARGV[4]) .. ' does not match the keys'
  end
  local links, i = {}, 5
  for j = 1, n do
    local M = registry[ARGV[i]]
    if M == nil then return nil, 'ERR bulwark: unknown module ' .. tostring(ARGV[i]) end
    local cfg = M.config(ARGV, i + 2)
    local keys = {KEYS[j]}
    local st = M.load(keys, cfg)
    local T = bw.now
    if st.last ~= nil and st.last > T then T = st.last end
    M.advance(cfg, st, T)
    links[j] = {M = M, cfg = cfg, keys = keys, st = st, T = T, lag = T - bw.now}
    i = i + 2 + tonumber(ARGV[i + 1])
  end
  return links, i
end

-- n whole numbers from ARGV[i].
function bw.numbers(i, n)
  local out = {}
  for j = 1, n do out[j] = tonumber(ARGV[i + j - 1]) end
  return out
end

-- Saves link L at its T (the module's save sets the key's lifetime).
function bw.keep(L)
  L.st.last = L.T
  L.M.save(L.keys, L.cfg, L.st)
end

-- The chain's decision on `costs`, applied: returns allowed, deniedBy, retryAfter.
function bw.take(links, costs)
  local n = #links
  local denier = 0
  for j = 1, n do
    local L = links[j]
    if costs[j] > 0 then
      L.touched = true
      local allowed = L.M.acquire(L.cfg, L.st, costs[j])
      if not allowed then
        denier = j
        break
      end
    end
  end
  local retry, by = 0, 0
  if denier > 0 then
    for j = 1, denier - 1 do
      local L = links[j]
      if costs[j] > 0 then L.M.refund(L.cfg, L.st, costs[j], L.T) end
    end
    -- Every link's wait for its cost now, on a copy of its state.
    for j = 1, n do
      local w = 0
      if costs[j] > 0 then
        local L = links[j]
        local copy = bw.copy(L.st)
        L.M.advance(L.cfg, copy, L.T)
        local ok, d = L.M.acquire(L.cfg, copy, costs[j])
        if not ok then w = bw.later(L.lag, d) end
      end
      if by == 0 or bw.order(w) > bw.order(retry) then retry, by = w, j end
    end
  end
  for j = 1, n do
    if links[j].touched then bw.keep(links[j]) end
  end
  return denier == 0, by, retry
end

-- The reply: allowed (a boolean, or a number as it is), deniedBy, retryAfter, bw.sec, then per
-- link remaining, resetAfter, T.
function bw.reply(links, allowed, by, retry)
  if allowed == true then allowed = 1 elseif allowed == false then allowed = 0 end
  local out = {allowed, by, retry, bw.sec}
  for j = 1, #links do
    local L = links[j]
    local remaining, reset = L.M.figures(L.cfg, L.st)
    out[#out + 1] = remaining
    out[#out + 1] = bw.later(L.lag, reset)
    out[#out + 1] = L.T
  end
  return out
end

function bw.chain(registry)
  bw.clock(ARGV[1], ARGV[2])
  local op = ARGV[3]
  if op ~= 'acquire' and op ~= 'refund' and op ~= 'charge' then
    return redis.error_reply('ERR bulwark: unknown op ' .. tostring(op))
  end
  local links, i = bw.links(registry, 0)
  if links == nil then return redis.error_reply(i) end
  local n = #links
  local costs = bw.numbers(i, n)
  if op == 'acquire' then
    return bw.reply(links, bw.take(links, costs))
  end
  for j = 1, n do
    local L = links[j]
    if costs[j] > 0 then
      if op == 'refund' then
        local k = i + n + 2 * (j - 1)
        L.M.refund(L.cfg, L.st, costs[j], bw.rel(tonumber(ARGV[k]), tonumber(ARGV[k + 1])))
      else
        L.M.charge(L.cfg, L.st, costs[j])
      end
      bw.keep(L)
    end
  end
  return bw.reply(links, true, 0, 0)
end
