--[[
  Pages through the incident index, latest last_seen first (equal scores by id, descending, as ZREVRANGE orders them).
  KEYS[1] sorted set of incident ids scored by last_seen (event time, ms)
  ARGV[1] score of the previous page's last incident, or "+inf" for the first page
  ARGV[2] id of the previous page's last incident, or "" for the first page
  ARGV[3] page size
  Returns: id1, score1, id2, score2, ... strictly after the previous page's last incident
]]
local count = tonumber(ARGV[3])
local out = {}
local offset = 0
while #out < count * 2 do
  local batch = redis.call("ZREVRANGEBYSCORE", KEYS[1], ARGV[1], "-inf", "WITHSCORES", "LIMIT", offset, count)
  if #batch == 0 then
    break
  end
  for i = 1, #batch, 2 do
    local id = batch[i]
    local score = batch[i + 1]
    if ARGV[2] == "" or tonumber(score) < tonumber(ARGV[1]) or id < ARGV[2] then
      out[#out + 1] = id
      out[#out + 1] = score
      if #out >= count * 2 then
        break
      end
    end
  end
  offset = offset + count
end
return out
