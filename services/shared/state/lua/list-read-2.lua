--[[
  Reads an imported list: its version and the entries not expired at now, in one snapshot.
  KEYS[1] hash of value -> expiry
  KEYS[2] version counter of the list
  ARGV[1] now (ms)
  Returns: { version, value1, expiry1, value2, expiry2, ... } (version 0 when the list was never imported)
]]
local now = tonumber(ARGV[1])
local out = { tonumber(redis.call("GET", KEYS[2]) or "0") }
local flat = redis.call("HGETALL", KEYS[1])
for i = 1, #flat, 2 do
  if tonumber(flat[i + 1]) > now then
    out[#out + 1] = flat[i]
    out[#out + 1] = flat[i + 1]
  end
end
return out
