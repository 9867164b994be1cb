--[[
  Reads incident documents.
  KEYS[1] hash of incident id -> incident JSON
  ARGV[1..] incident ids
  Returns: one JSON document (or nil) per id, in order
]]
if #ARGV == 0 then
  return {}
end
return redis.call("HMGET", KEYS[1], unpack(ARGV))
