--[[
  Ends an import into a list: drops entries expired at now, keeps the hash until its last entry expires, and bumps
  the list's version so that correlators reload it. The version key never expires: a version that started again
  at 1 would look unchanged to a correlator that had loaded version 1 of the list before.
  KEYS[1] hash of value -> expiry
  KEYS[2] version counter of the list
  ARGV[1] now (ms)
  Returns: { entries, version }
]]
local now = tonumber(ARGV[1])
local flat = redis.call("HGETALL", KEYS[1])
local latest = 0
local count = 0
for i = 1, #flat, 2 do
  local expiry = tonumber(flat[i + 1])
  if expiry <= now then
    redis.call("HDEL", KEYS[1], flat[i])
  else
    count = count + 1
    if expiry > latest then latest = expiry end
  end
end
if count > 0 then redis.call("PEXPIREAT", KEYS[1], latest) end
local version = redis.call("INCR", KEYS[2])
return { count, version }
