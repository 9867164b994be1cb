--[[
  Reads one field of a digest hash (the dedup record of one alert in an entity's time bucket).
  KEYS[1] hash of alert fingerprint -> digest
  ARGV[1] field
  Returns: the value, or false when absent
]]
return redis.call("HGET", KEYS[1], ARGV[1])
