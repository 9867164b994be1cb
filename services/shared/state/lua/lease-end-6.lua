--[[
  Forgets a lease whose reverse action is done and frees its target field (unless another lease holds it now).
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] lease id
  ARGV[2] target field
  Returns: 1
]]
redis.call("HDEL", KEYS[1], ARGV[1])
redis.call("HDEL", KEYS[4], ARGV[1])
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
redis.call("ZREM", KEYS[6], ARGV[1])
if redis.call("HGET", KEYS[5], ARGV[2]) == "L|" .. ARGV[1] then
  redis.call("HDEL", KEYS[5], ARGV[2])
end
return 1
