-- Saves GroupQuotas' settings (BulwarkAdmin) if the stored version is the one the caller read, in
-- one step: the fields, the version, the audit entry, and the message that tells every node.
-- KEYS[1] the settings hash; KEYS[2] the audit list.
-- ARGV[1] the version read (0: none stored yet); ARGV[2] the channel; ARGV[3] the audit entry;
-- ARGV[4] how many audit entries to keep; ARGV[5…] the new fields and values.
-- Returns {1, new version} when saved, {0, stored version} when the version read is stale.
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'g:' then redis.call('HDEL', KEYS[1], field) end
end
redis.call('HSET', KEYS[1], 'version', current + 1, unpack(ARGV, 5))
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
redis.call('PUBLISH', ARGV[2], tostring(current + 1))
return {1, current + 1}
