--[[
  Marks a claim completed with its result, if the caller still holds it.
  KEYS[1] claim key
  ARGV[1] owner token
  ARGV[2] result
  ARGV[3] ttl (ms) to keep the completed record
  Returns: 1 completed, -1 not held by this owner
]]
local v = redis.call("GET", KEYS[1])
if v ~= "P" .. ARGV[1] then
  return -1
end
redis.call("SET", KEYS[1], "D" .. ARGV[2], "PX", ARGV[3])
return 1
