-- put.lua stores one entry of redisstore (see putScript in store.go).
-- KEYS[1]: the generation of the entry's URL; KEYS[2]: the entry.
-- ARGV[1]: a token for a new generation; ARGV[2]: the expiry in ms;
-- ARGV[3]: the encoded entry; ARGV[4]: "1" for a Vary index.
local ttl = tonumber(ARGV[2])
local gen = redis.call('GET', KEYS[1])
if not gen then
  gen = ARGV[1]
  redis.call('SET', KEYS[1], gen, 'PX', ttl)
else
  local left = redis.call('PTTL', KEYS[1])
  if ARGV[4] == '1' and left > ttl then
    ttl = left -- an index lives as long as the entries it leads to
  end
  if left < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
redis.call('SET', KEYS[2], gen .. ARGV[3], 'PX', ttl)
return 1
