--[[
  Releases a pending claim held by the caller, so another attempt can take it.
  KEYS[1] claim key
  ARGV[1] owner token
  Returns: 1 released, -1 not held by this owner
]]
if redis.call("GET", KEYS[1]) ~= "P" .. ARGV[1] then
  return -1
end
redis.call("DEL", KEYS[1])
return 1
