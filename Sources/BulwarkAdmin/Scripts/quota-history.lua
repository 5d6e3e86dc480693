-- The last hour of GroupQuotas' decisions (BulwarkAdmin), a minute at a time, oldest first.
-- KEYS the history hashes of the minutes, oldest first.
-- Returns admitted, refused, failed for each minute.
local out = {}
for i = 1, #KEYS do
  local h = redis.call('HMGET', KEYS[i], 'admitted', 'refused', 'failed')
  out[#out + 1] = tonumber(h[1] or '0')
  out[#out + 1] = tonumber(h[2] or '0')
  out[#out + 1] = tonumber(h[3] or '0')
end
return out
