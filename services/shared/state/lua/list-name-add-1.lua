--[[
  Records the name of an imported list, so that correlators and `riposte lists show` find every list.
  KEYS[1] set of list names
  ARGV[1] name
  Returns: 1 when the name is new, else 0
]]
return redis.call("SADD", KEYS[1], ARGV[1])
