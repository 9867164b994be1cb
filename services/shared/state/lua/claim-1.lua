--[[
  Claims a key for one owner (idempotency record or containment lease).
  KEYS[1] claim key
  ARGV[1] owner token
  ARGV[2] ttl (ms) of the pending claim
  Returns: {1, ""} acquired (or already held by this owner)
           {2, result} already completed, with its result
           {3, owner} held by another owner
]]
local v = redis.call("GET", KEYS[1])
if not v then
  redis.call("SET", KEYS[1], "P" .. ARGV[1], "PX", ARGV[2])
  return {1, ""}
end
local kind = string.sub(v, 1, 1)
local rest = string.sub(v, 2)
if kind == "D" then
  return {2, rest}
end
if rest == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return {1, ""}
end
return {3, rest}
