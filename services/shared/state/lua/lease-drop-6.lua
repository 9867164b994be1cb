--[[
  Drops an owner's pending hold of a target field (its containment did not happen).
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] target field
  ARGV[2] owner
  Returns: 1 dropped, 0 not held by this owner
]]
local v = redis.call("HGET", KEYS[5], ARGV[1])
if v and string.match(v, "^P|(.*)|%d+$") == ARGV[2] then
  redis.call("HDEL", KEYS[5], ARGV[1])
  return 1
end
return 0
