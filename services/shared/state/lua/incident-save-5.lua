--[[
  Saves incidents and entity links at once when every incident's stored version is the one before its new version
  (compare-and-set: nothing is written when another writer got there first), then trims what is out of its window.
  KEYS[1] hash of incident id -> incident JSON
  KEYS[2] hash of incident id -> version
  KEYS[3] sorted set of incident ids scored by last_seen (event time, ms)
  KEYS[4] hash of entity key -> incident id
  KEYS[5] sorted set of entity keys scored by the event time they were last linked at
  ARGV[1] number of incidents written (W)
  ARGV[2] number of links written (L)
  ARGV[3] event time of the links (ms)
  ARGV[4] incidents last seen before this time are dropped (at most 100 per call)
  ARGV[5] links made before this time are dropped (at most 100 per call)
  ARGV[6] ttl (ms) of the five keys, refreshed by every save
  ARGV[7..] W times: id, version, last_seen, JSON; then L times: entity key, incident id
  Returns: {1, ""} when saved, {0, id} when the stored version of incident id is not the one expected
]]
local writes = tonumber(ARGV[1])
local links = tonumber(ARGV[2])
local base = 7
for i = 0, writes - 1 do
  local o = base + i * 4
  local stored = tonumber(redis.call("HGET", KEYS[2], ARGV[o]) or "0")
  if stored ~= tonumber(ARGV[o + 1]) - 1 then
    return {0, ARGV[o]}
  end
end
for i = 0, writes - 1 do
  local o = base + i * 4
  redis.call("HSET", KEYS[1], ARGV[o], ARGV[o + 3])
  redis.call("HSET", KEYS[2], ARGV[o], ARGV[o + 1])
  redis.call("ZADD", KEYS[3], ARGV[o + 2], ARGV[o])
end
local lb = base + writes * 4
for i = 0, links - 1 do
  local o = lb + i * 2
  redis.call("HSET", KEYS[4], ARGV[o], ARGV[o + 1])
  redis.call("ZADD", KEYS[5], ARGV[3], ARGV[o])
end
local old = redis.call("ZRANGEBYSCORE", KEYS[3], "-inf", "(" .. ARGV[4], "LIMIT", 0, 100)
for _, id in ipairs(old) do
  redis.call("HDEL", KEYS[1], id)
  redis.call("HDEL", KEYS[2], id)
  redis.call("ZREM", KEYS[3], id)
end
local stale = redis.call("ZRANGEBYSCORE", KEYS[5], "-inf", "(" .. ARGV[5], "LIMIT", 0, 100)
for _, entity in ipairs(stale) do
  redis.call("HDEL", KEYS[4], entity)
  redis.call("ZREM", KEYS[5], entity)
end
for i = 1, 5 do
  redis.call("PEXPIRE", KEYS[i], ARGV[6])
end
return {1, ""}
