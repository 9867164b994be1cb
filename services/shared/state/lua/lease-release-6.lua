--[[
  Ends a lease in force now: its reverse action becomes due. A lease parked after a failed reverse is made due again.
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] lease id
  ARGV[2] now (ms)
  ARGV[3] JSON of how it ended (released, by whom)
  Returns: 1 due now, 0 no such lease, -1 already ended and due or running
]]
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 0 then
  return 0
end
local ended = redis.call("HEXISTS", KEYS[4], ARGV[1]) == 1
if ended and (redis.call("ZSCORE", KEYS[2], ARGV[1]) or redis.call("ZSCORE", KEYS[3], ARGV[1])) then
  return -1
end
if not ended then
  redis.call("HSET", KEYS[4], ARGV[1], ARGV[3])
end
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
return 1
