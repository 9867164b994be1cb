--[[
  Saves one playbook run when its stored version is the one before the new version (compare-and-set: nothing is
  written when another writer got there first), lists it (and keeps it in, or takes it out of, the open runs), then
  trims runs out of retention.
  KEYS[1] hash of run id -> run JSON
  KEYS[2] hash of run id -> version
  KEYS[3] sorted set of every run id scored by its start (ms)
  KEYS[4] sorted set of open run ids scored by their start (ms)
  ARGV[1] run id
  ARGV[2] new version
  ARGV[3] start (ms)
  ARGV[4] 1 when the run is open, 0 when it ended
  ARGV[5] run JSON
  ARGV[6] runs started before this time are dropped (at most 100 per call)
  ARGV[7] ttl (ms) of the four keys, refreshed by every save
  Returns: 1 when saved, 0 when the stored version is not the one expected
]]
local stored = tonumber(redis.call("HGET", KEYS[2], ARGV[1]) or "0")
if stored ~= tonumber(ARGV[2]) - 1 then
  return 0
end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[5])
redis.call("HSET", KEYS[2], ARGV[1], ARGV[2])
redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1])
if ARGV[4] == "1" then
  redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
else
  redis.call("ZREM", KEYS[4], ARGV[1])
end
local old = redis.call("ZRANGEBYSCORE", KEYS[3], "-inf", "(" .. ARGV[6], "LIMIT", 0, 100)
for _, id in ipairs(old) do
  redis.call("HDEL", KEYS[1], id)
  redis.call("HDEL", KEYS[2], id)
  redis.call("ZREM", KEYS[3], id)
  redis.call("ZREM", KEYS[4], id)
end
for i = 1, 4 do
  redis.call("PEXPIRE", KEYS[i], ARGV[7])
end
return 1
