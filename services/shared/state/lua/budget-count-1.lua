--[[
  Counts the actions a sliding-window budget holds within its window (read-only).
  KEYS[1] sorted set of admitted actions, scored by the time they were admitted
  ARGV[1] now (ms)
  ARGV[2] window (ms)
  Returns: the number of members admitted within (now - window, now]
]]
return redis.call("ZCOUNT", KEYS[1], "(" .. (tonumber(ARGV[1]) - tonumber(ARGV[2])), "+inf")
