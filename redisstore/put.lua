-- put.lua stores one entry of redisstore (see putScript in store.go).
-- KEYS[1]: the generation of the entry's URL; KEYS[2]: the entry.
-- ARGV[1]: a token for a new generation; ARGV[2]: the expiry in ms;
-- ARGV[3]: the encoded entry; ARGV[4]: "1" for a Vary index.
-- The entry is written first: a full Redis (OOM) refuses the script's
-- first write only, and then nothing is written.
local ttl = tonumber(ARGV[2])
local gen = redis.call('GET', KEYS[1])
local left = -2
if gen then
  left = redis.call('PTTL', KEYS[1])
  if ARGV[4] == '1' and left > ttl then
    ttl = left -- an index lives as long as the entries it leads to
  end
else
  gen = ARGV[1]
end
redis.call('SET', KEYS[2], gen .. ARGV[3], 'PX', ttl)
if left == -2 then
  redis.call('SET', KEYS[1], gen, 'PX', ttl)
elseif left < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl) -- the generation outlives its entries
end
return 1
