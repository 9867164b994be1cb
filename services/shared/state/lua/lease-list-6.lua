--[[
  Reads a page of leases, oldest first, or one lease by id.
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] offset, or -1 to read the one lease ARGV[3]
  ARGV[2] page size
  ARGV[3] lease id (with offset -1)
  Returns: id1, doc1, due1 ("" when not due), end1 ("" in force), ...
]]
local ids
if tonumber(ARGV[1]) < 0 then
  ids = {ARGV[3]}
else
  ids = redis.call("ZRANGE", KEYS[6], tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
end
local out = {}
for _, id in ipairs(ids) do
  local doc = redis.call("HGET", KEYS[1], id)
  if doc then
    out[#out + 1] = id
    out[#out + 1] = doc
    out[#out + 1] = redis.call("ZSCORE", KEYS[2], id) or ""
    out[#out + 1] = redis.call("HGET", KEYS[4], id) or ""
  end
end
return out
