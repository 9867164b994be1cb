--[[
  Reads a timeline (a correlation window or a new_terms history): its members with their event times.
  KEYS[1] sorted set of members scored by event time (ms)
  Returns: {member1, time1, member2, time2, ...}, oldest first (ties by member); empty when the key is absent
]]
return redis.call("ZRANGE", KEYS[1], 0, -1, "WITHSCORES")
