--[[
  Takes one token from a token bucket shared by every executor, or says how long until one is available.
  The bucket holds at most `capacity` tokens (the burst) and refills `capacity` tokens per interval.
  KEYS[1] hash {tokens, ts}
  ARGV[1] now (ms)
  ARGV[2] capacity (tokens)
  ARGV[3] refill interval (ms)
  Returns: 0 when a token was taken, else the ms to wait before one is available (nothing is taken)
]]
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local per = tonumber(ARGV[3])
local h = redis.call("HMGET", KEYS[1], "tokens", "ts")
local tokens = tonumber(h[1]) or cap
local ts = tonumber(h[2]) or now
if now > ts then
  tokens = math.min(cap, tokens + (now - ts) * cap / per)
  ts = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * per / cap)
end
redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "ts", tostring(ts))
redis.call("PEXPIRE", KEYS[1], math.ceil(per))
return wait
