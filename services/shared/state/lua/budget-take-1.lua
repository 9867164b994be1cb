--[[
  Admits one action into a sliding-window budget, or refuses it, atomically (every executor shares the budget).
  KEYS[1] sorted set of admitted actions, scored by the time they were admitted
  ARGV[1] member: the action id (taking again with an admitted id admits it without counting it twice)
  ARGV[2] now (ms)
  ARGV[3] window (ms)
  ARGV[4] limit: most actions admitted within a window
  Returns: {1, count} admitted, {0, count} refused; count = actions admitted within (now - window, now]
]]
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", tonumber(ARGV[2]) - tonumber(ARGV[3]))
if redis.call("ZSCORE", KEYS[1], ARGV[1]) then
  return {1, redis.call("ZCARD", KEYS[1])}
end
local n = redis.call("ZCARD", KEYS[1])
if n >= tonumber(ARGV[4]) then
  return {0, n}
end
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return {1, n + 1}
