--[[
  After a failed reverse action: records how it failed and makes the lease due again later, or parks it.
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] lease id
  ARGV[2] due again at (ms), or 0 to park it (shown with its error until released again)
  ARGV[3] JSON of how it ended, with its attempts and last error
  Returns: 1
]]
redis.call("ZREM", KEYS[3], ARGV[1])
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 0 then
  return 1
end
redis.call("HSET", KEYS[4], ARGV[1], ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
end
return 1
