--[[
  Adds a member to a sliding time window and returns how many distinct members it holds.
  KEYS[1] sorted set of members scored by time
  ARGV[1] member
  ARGV[2] now (ms)
  ARGV[3] window (ms)
  Returns: distinct members with a time within (now - window, now]
]]
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", tonumber(ARGV[2]) - tonumber(ARGV[3]))
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return redis.call("ZCARD", KEYS[1])
