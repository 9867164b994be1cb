--[[
  Writes a plain value without expiry (a switch that holds until changed).
  KEYS[1] value key
  ARGV[1] value
  Returns: 1
]]
redis.call("SET", KEYS[1], ARGV[1])
return 1
