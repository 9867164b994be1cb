--[[
  Reads, in one round trip, the incident each entity was last linked to and the documents of those incidents and of
  the incidents named besides (the ids an opening alert may give its incident).
  KEYS[1] hash of entity key -> incident id
  KEYS[2] hash of incident id -> incident JSON
  ARGV[1] number of entity keys (E)
  ARGV[2..E+1] entity keys
  ARGV[E+2..] incident ids to read besides the linked ones
  Returns: {one incident id (or nil) per entity, in order; {id1, JSON1, id2, JSON2, ...} of the documents found}
]]
local n = tonumber(ARGV[1])
local links = {}
if n > 0 then
  local entities = {}
  for i = 2, n + 1 do
    entities[#entities + 1] = ARGV[i]
  end
  links = redis.call("HMGET", KEYS[1], unpack(entities))
end
local wanted = {}
local seen = {}
for i = 1, n do
  local id = links[i]
  if id and not seen[id] then
    seen[id] = true
    wanted[#wanted + 1] = id
  end
end
for i = n + 2, #ARGV do
  if not seen[ARGV[i]] then
    seen[ARGV[i]] = true
    wanted[#wanted + 1] = ARGV[i]
  end
end
local found = {}
if #wanted > 0 then
  local docs = redis.call("HMGET", KEYS[2], unpack(wanted))
  for i = 1, #wanted do
    if docs[i] then
      found[#found + 1] = wanted[i]
      found[#found + 1] = docs[i]
    end
  end
end
return {links, found}
