--[[
  Records one sighting of a key and returns how many sightings the current window holds.
  The window starts at the first sighting and lasts ttl ms.
  KEYS[1] sighting counter
  ARGV[1] ttl (ms)
  Returns: the count including this sighting (1 = first)
]]
local n = redis.call("INCR", KEYS[1])
if n == 1 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
end
return n
