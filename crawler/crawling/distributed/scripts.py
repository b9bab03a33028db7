"""The Lua scripts that make each shared-queue step atomic in redis."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# Taking requests: pop the best ARGV[1] and keep each (with its score) in this worker's hash.
# KEYS: queue, inflight, seq. Returns {id1, data1, id2, data2, ...}.
TAKE = """
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local out = {}
for i = 1, #popped, 2 do
  local id = tostring(redis.call('INCR', KEYS[3]))
  redis.call('HSET', KEYS[2], id, popped[i + 1] .. ' ' .. popped[i])
  out[#out + 1] = id
  out[#out + 1] = popped[i]
end
return out
"""


# Queueing a request unless the duplicate filter has seen it, in one round trip.
# Within a priority the newest request goes first (LIFO, Scrapy's own default order):
# a listing's next page, yielded after its articles, is fetched before them, so the
# frontier never runs dry. KEYS: dupefilter, queue, seq. ARGV: fingerprint ('' for
# dont_filter), priority, data. Returns 1 if queued.
PUSH = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], -tonumber(ARGV[2]) * 4294967296 - seq, ARGV[3])
return 1
"""


# Joining the crawl in progress, or starting one. KEYS: crawl, seq, workers.
# ARGV: proposed crawl id, heartbeat key prefix, heartbeat ttl (ms). Returns {crawl id, worker id}.
JOIN = """
local crawl = redis.call('GET', KEYS[1])
if not crawl then
  redis.call('SET', KEYS[1], ARGV[1])
  crawl = ARGV[1]
end
local worker = crawl .. '-w' .. redis.call('INCR', KEYS[2])
redis.call('SADD', KEYS[3], worker)
redis.call('SET', ARGV[2] .. worker, 'busy', 'PX', ARGV[3])
return {crawl, worker}
"""


# Claiming a dead worker's in-flight entries into ours, if its heartbeat is still absent.
# KEYS: its heartbeat, its inflight, workers, our inflight. ARGV: its id. Returns the count.
CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do redis.call('HSET', KEYS[4], entries[i], entries[i + 1]) end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return #entries / 2
"""


# Putting in-flight entries back in the queue. KEYS: inflight, queue. ARGV: entry ids.
REQUEUE = """
local n = 0
for _, id in ipairs(ARGV) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    local sp = string.find(v, ' ', 1, true)
    redis.call('ZADD', KEYS[2], tonumber(string.sub(v, 1, sp - 1)), string.sub(v, sp + 1))
    redis.call('HDEL', KEYS[1], id)
    n = n + 1
  end
end
return n
"""


# Leaving. KEYS: workers, heartbeat, inflight, queue, then the crawl's keys to delete
# when this was the last worker and nothing is queued. ARGV: worker id. Returns 1 if deleted.
LEAVE = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
if redis.call('SCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[4]) == 0 then
  for i = 5, #KEYS do redis.call('DEL', KEYS[i]) end
  return 1
end
return 0
"""
