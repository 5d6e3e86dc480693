-- One decision of GroupQuotas (BulwarkAdmin), by Redis's clock, with the settings stored in Redis:
-- the limits a node enforces are the ones saved, at the moment of the decision.
-- KEYS[1] the settings hash; KEYS[2] the identity's counts (p: period token, t: total, s: success);
-- KEYS[3] the history hash of the node's current minute (admitted, refused, failed).
-- ARGV[1] 'begin' | 'fail' | 'cancel' | 'peek'; ARGV[2] the override's field ('g:<group>', or 'u' for a user);
-- ARGV[3] for 'fail' and 'cancel', the period token 'begin' returned. 'fail' gives the success unit
-- back; 'cancel' both (the request was never made).
-- Returns {state, refused by (0 none, 1 success, 2 total), ms to the period's end, total used,
-- total limit, success used, success limit, period token}; state 1 admitted (or peeked), 0 refused,
-- 2 quotas disabled, -1 no settings stored.
local s = redis.call('HMGET', KEYS[1], 'enabled', 'period', 'total', 'success', ARGV[2])
if not s[2] then return {-1} end
local total, success = tonumber(s[3]), tonumber(s[4])
if s[5] then
  local comma = string.find(s[5], ',', 1, true)
  total, success = tonumber(string.sub(s[5], 1, comma - 1)), tonumber(string.sub(s[5], comma + 1))
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local period = tonumber(s[2]) * 60000
local index = math.floor(now / period)
local token = s[2] .. ':' .. index
local left = (index + 1) * period - now
local counts = redis.call('HMGET', KEYS[2], 'p', 't', 's')
local usedTotal, usedSuccess = 0, 0
if counts[1] == token then usedTotal, usedSuccess = tonumber(counts[2]), tonumber(counts[3]) end
local op = ARGV[1]
if op == 'fail' or op == 'cancel' then
  if counts[1] == ARGV[3] then
    if usedSuccess > 0 then redis.call('HINCRBY', KEYS[2], 's', -1) end
    if op == 'cancel' and usedTotal > 0 then redis.call('HINCRBY', KEYS[2], 't', -1) end
  end
  redis.call('HINCRBY', KEYS[3], op == 'fail' and 'failed' or 'admitted', op == 'fail' and 1 or -1)
  redis.call('PEXPIRE', KEYS[3], 7200000)
  return {1}
end
if op == 'peek' then return {1, 0, left, usedTotal, total, usedSuccess, success, token} end
if s[1] ~= '1' then return {2, 0, left, usedTotal, total, usedSuccess, success, token} end
local refused = 0
if usedSuccess + 1 > success then
  refused = 1
elseif total > 0 and usedTotal + 1 > total then
  refused = 2
end
redis.call('HINCRBY', KEYS[3], refused == 0 and 'admitted' or 'refused', 1)
redis.call('PEXPIRE', KEYS[3], 7200000)
if refused > 0 then return {0, refused, left, usedTotal, total, usedSuccess, success, token} end
redis.call('HSET', KEYS[2], 'p', token, 't', usedTotal + 1, 's', usedSuccess + 1)
redis.call('PEXPIRE', KEYS[2], left + 60000)
return {1, 0, left, usedTotal + 1, total, usedSuccess + 1, success, token}
