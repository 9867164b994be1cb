--[[
  Adds members to a timeline, keeping each member's latest event time, then trims it by time and by size.
  KEYS[1] sorted set of members scored by event time (ms)
  ARGV[1] cutoff (ms): members with an earlier time are dropped
  ARGV[2] cap: at most this many members are kept, the newest
  ARGV[3] ttl (ms) of the key
  ARGV[4..] time1, member1, time2, member2, ...
  Returns: the number of members kept
]]
for i = 4, #ARGV, 2 do
  -- GT keeps the later time of a member already there and still adds new members.
  redis.call("ZADD", KEYS[1], "GT", ARGV[i], ARGV[i + 1])
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", "(" .. ARGV[1])
local n = redis.call("ZCARD", KEYS[1])
local cap = tonumber(ARGV[2])
if n > cap then
  redis.call("ZREMRANGEBYRANK", KEYS[1], 0, n - cap - 1)
  n = cap
end
if n > 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[3])
end
return n
