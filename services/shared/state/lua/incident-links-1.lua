--[[
  Reads the incident each entity was last linked to.
  KEYS[1] hash of entity key -> incident id
  ARGV[1..] entity keys
  Returns: one incident id (or nil) per entity, in order
]]
if #ARGV == 0 then
  return {}
end
return redis.call("HMGET", KEYS[1], unpack(ARGV))
