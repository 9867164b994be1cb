--[[
  Opens a lease on a target field held by its owner (or free), due at its expiry.
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] target field
  ARGV[2] owner
  ARGV[3] lease id
  ARGV[4] lease JSON
  ARGV[5] taken at (ms)
  ARGV[6] expires at (ms)
  Returns: 1 open (also when this lease already is), 0 the field is held by another lease or owner
]]
local v = redis.call("HGET", KEYS[5], ARGV[1])
if v == "L|" .. ARGV[3] then
  return 1
end
if v and string.match(v, "^P|(.*)|%d+$") ~= ARGV[2] then
  return 0
end
redis.call("HSET", KEYS[5], ARGV[1], "L|" .. ARGV[3])
redis.call("HSET", KEYS[1], ARGV[3], ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[6], ARGV[3])
redis.call("ZADD", KEYS[6], ARGV[5], ARGV[3])
return 1
