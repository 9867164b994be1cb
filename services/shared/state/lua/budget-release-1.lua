--[[
  Gives back an admitted action's place in a budget (the action was refused by a later check and never sent).
  KEYS[1] sorted set of admitted actions
  ARGV[1] member: the action id
  Returns: 1 released, 0 it was not in the budget
]]
return redis.call("ZREM", KEYS[1], ARGV[1])
