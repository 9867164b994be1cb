--[[
  Adds entries to an imported list (threat-intel indicators): a hash of canonical value -> expiry (ms since the
  epoch). An entry already there keeps the later of its two expiries. The hash lives at least until the latest
  expiry of this batch (listCommit trims it to its last live entry).
  KEYS[1] hash of value -> expiry
  ARGV[1] now (ms)
  ARGV[2..] value, expiry pairs
  Returns: the number of entries in the hash
]]
local now = tonumber(ARGV[1])
local latest = 0
for i = 2, #ARGV - 1, 2 do
  local expiry = tonumber(ARGV[i + 1])
  local old = tonumber(redis.call("HGET", KEYS[1], ARGV[i]) or "0")
  if expiry > old then
    redis.call("HSET", KEYS[1], ARGV[i], ARGV[i + 1])
  end
  if expiry > latest then latest = expiry end
end
if latest > now then
  local ttl = redis.call("PTTL", KEYS[1])
  if ttl >= 0 and ttl < latest - now then redis.call("PEXPIREAT", KEYS[1], latest) end
  if ttl == -1 then redis.call("PEXPIREAT", KEYS[1], latest) end
end
return redis.call("HLEN", KEYS[1])
