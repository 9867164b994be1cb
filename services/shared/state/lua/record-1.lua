--[[
  Sets one field of a digest hash; the hash expires ttl ms after its first field was set.
  KEYS[1] hash of alert fingerprint -> digest
  ARGV[1] field
  ARGV[2] value
  ARGV[3] ttl (ms) of the hash, set only when it has none
  Returns: 1
]]
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("PEXPIRE", KEYS[1], ARGV[3], "NX")
return 1
