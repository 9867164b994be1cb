--[[
  The names of the imported lists.
  KEYS[1] set of list names
  Returns: the names (any order)
]]
return redis.call("SMEMBERS", KEYS[1])
