--[[
  Holds a target field for one owner before its containment call, unless a lease or another owner holds it.
  KEYS[1] hash of lease id -> lease JSON
  KEYS[2] sorted set of lease ids scored by when they are due
  KEYS[3] sorted set of lease ids scored by when their running claim lapses
  KEYS[4] hash of lease id -> JSON of how it ended
  KEYS[5] hash of target field -> "L|<lease id>" or "P|<owner>|<until ms>"
  KEYS[6] sorted set of lease ids scored by when they were taken
  ARGV[1] target field
  ARGV[2] owner (the decision id)
  ARGV[3] now (ms)
  ARGV[4] hold (ms): a pending hold lapses then (its owner died before opening the lease)
  Returns: {1, ""} held (also again by the same owner), {0, by} held by a lease ("L|id") or an owner ("P|owner|until")
]]
local v = redis.call("HGET", KEYS[5], ARGV[1])
if v then
  if string.sub(v, 1, 2) == "L|" then
    return {0, v}
  end
  local owner, untilMs = string.match(v, "^P|(.*)|(%d+)$")
  if owner ~= ARGV[2] and untilMs and tonumber(untilMs) > tonumber(ARGV[3]) then
    return {0, v}
  end
end
redis.call("HSET", KEYS[5], ARGV[1], "P|" .. ARGV[2] .. "|" .. (tonumber(ARGV[3]) + tonumber(ARGV[4])))
return {1, ""}
