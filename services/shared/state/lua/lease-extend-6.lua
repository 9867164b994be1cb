--[[
  Moves the expiry of a lease in force.
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] lease id
  ARGV[2] new expiry (ms)
  Returns: 1 moved, 0 no such lease, -1 the lease has ended (its reverse action is due, running or parked)
]]
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 0 then
  return 0
end
if redis.call("HEXISTS", KEYS[4], ARGV[1]) == 1 or not redis.call("ZSCORE", KEYS[2], ARGV[1]) then
  return -1
end
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
return 1
