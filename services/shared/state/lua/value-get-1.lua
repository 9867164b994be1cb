--[[
  Reads a plain value (a switch shared by every process, such as the containment kill switch).
  KEYS[1] value key
  Returns: the value, or false when unset
]]
return redis.call("GET", KEYS[1])
