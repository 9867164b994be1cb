--[[
  Claims the leases due now for one scheduler: each moves to running until its claim lapses; a lease that expired
  is marked ended. Running leases whose claim lapsed (their scheduler died) are made due again first.
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] now (ms)
  ARGV[2] claim (ms)
  ARGV[3] most leases claimed
  Returns: id1, doc1, end1, id2, doc2, end2, ... (a lease whose doc is gone is dropped from the sets)
]]
local now = tonumber(ARGV[1])
local lapsed = redis.call("ZRANGEBYSCORE", KEYS[3], "-inf", now, "LIMIT", 0, 1000)
for _, id in ipairs(lapsed) do
  redis.call("ZREM", KEYS[3], id)
  redis.call("ZADD", KEYS[2], now, id)
end
local due = redis.call("ZRANGEBYSCORE", KEYS[2], "-inf", now, "WITHSCORES", "LIMIT", 0, tonumber(ARGV[3]))
local out = {}
for i = 1, #due, 2 do
  local id = due[i]
  redis.call("ZREM", KEYS[2], id)
  local doc = redis.call("HGET", KEYS[1], id)
  if doc then
    redis.call("ZADD", KEYS[3], now + tonumber(ARGV[2]), id)
    local ended = redis.call("HGET", KEYS[4], id)
    if not ended then
      ended = '{"why":"expired","at":' .. due[i + 1] .. '}'
      redis.call("HSET", KEYS[4], id, ended)
    end
    out[#out + 1] = id
    out[#out + 1] = doc
    out[#out + 1] = ended
  end
end
return out
