/**
 * The queue's keys and its Lua scripts. Every key of one queue shares the hash tag `{shmq:NAME}`,
 * so they live in one Cluster slot and every script may touch all of them atomically.
 *
 * Data model (format version 1):
 * - `{shmq:NAME}:meta`  hash: v, kind ('queue' | 'joinable'), codec, maxsize, maxmsg (bytes),
 *   vis (visibility timeout, ms), maxdel (max deliveries, 0 = unlimited), created (ms),
 *   shutdown ('none' | 'graceful' | 'immediate'), puts, gets, unfinished, dead; full ('1' while a
 *   put waits for room: the next acknowledgement clears it and publishes 'room'); nextclaim (ms) and
 *   claimcur (XAUTOCLAIM cursor): when the takes look for messages to reclaim next, and from where.
 * - `{shmq:NAME}:s`     stream of messages (one field `d`: the encoded bytes), consumer group `g`.
 *   Messages waiting for a consumer = XLEN - the group's pending count + the given-back ones
 *   (messages are acknowledged and deleted together, so every pending entry is still in the stream).
 * - `{shmq:NAME}:back`  set of the ids given back (nacked) and not delivered again yet: still
 *   pending in the group (a nack makes them claimable at once), but waiting for a consumer.
 * - `{shmq:NAME}:dead`  dead-letter stream (fields d, id, deliveries, consumer).
 * - channel `{shmq:NAME}:ev` messages: 'room', 'ready', 'done', 'shutdown', 'unlink'.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** Keys and channel of the queue `name`. */
export interface QueueKeys {
  readonly meta: string;
  readonly stream: string;
  readonly dead: string;
  /** Ids given back and not delivered again yet (see the data model above). */
  readonly back: string;
  readonly channel: string;
}

/** The hash tag all keys of `name` share. */
export const hashTag = (name: string): string => `{shmq:${name}}`;

export function queueKeys(name: string): QueueKeys {
  const tag = hashTag(name);
  return { meta: `${tag}:meta`, stream: `${tag}:s`, dead: `${tag}:dead`, back: `${tag}:back`, channel: `${tag}:ev` };
}

/** SCAN pattern matching every queue's meta key. */
export const META_PATTERN = '{shmq:*}:meta';
/** Name of the queue whose meta key is `key`, or null. */
export function nameOfMetaKey(key: string): string | null {
  const m = /^\{shmq:([A-Za-z0-9_.-]{1,200})\}:meta$/.exec(key);
  return m ? (m[1] as string) : null;
}

/** Version of the data model above, stored as meta `v`. */
export const FORMAT_VERSION = 1;

/** Status codes the scripts return (negative numbers; >= 0 is a result). */
export const ScriptStatus = Object.freeze({
  Shutdown: -1,
  NotFound: -2,
  TaskDoneTooMany: -3,
  Exists: -4,
} as const);

/** A Lua script with its SHA1, for EVALSHA with a fallback to EVAL. */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
  readonly keys: number;
}

/**
 * How a script behaves when the server is out of memory (`maxmemory` reached), declared in its
 * shebang line (Redis 7): `'deny'` (the puts): refused before it runs, so that it either runs whole
 * or not at all; `'allow-oom'`: runs anyway, for what lets consumers drain and users repair (takes,
 * acknowledgements, shutdown, unlink: they free memory or change little); `'no-writes'`: a read.
 */
type OomMode = 'deny' | 'allow-oom' | 'no-writes';

function script(name: string, keys: number, oom: OomMode, body: string): Script {
  const shebang = oom === 'deny' ? '#!lua' : `#!lua flags=${oom}`;
  const lua = `${shebang}\n${PRELUDE}\n${body}`;
  return { name, lua, keys, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * How often (ms) at most the takes look for messages to claim again (held by a consumer for longer
 * than the visibility timeout); a nack makes the next take look at once.
 */
export const CLAIM_EVERY_MS = 100;

/**
 * Helpers shared by the scripts. `queued(s, back)`: messages waiting for a consumer. `ackIds`:
 * acknowledge and delete. `take`: deliver. `gotten`: count acknowledged messages and wake a put
 * that waits for room.
 */
const PRELUDE = `
-- A wake-up message. One the server refuses (an ACL without PUBLISH) must not leave the script's
-- work half done: the waits it would end also look again by themselves, about a second later at most.
local function wake(channel, message)
  redis.pcall('PUBLISH', channel, message)
end
local function pending(s)
  local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', s)
  if not ok then return 0 end
  for _, g in ipairs(groups) do
    for i = 1, #g, 2 do if g[i] == 'pending' then return g[i + 1] end end
  end
  return 0
end
-- Given back: pending, but claimable at once. Never more than are pending (the set is only ever
-- written by these scripts; a stranger's members must not make the counts negative).
local function givenBack(back, p) return math.min(redis.call('SCARD', back), p) end
-- Waiting = not delivered yet (in the stream, not pending) + given back.
local function queued(s, back)
  local p = pending(s)
  return redis.call('XLEN', s) - p + givenBack(back, p)
end
-- Members of the given-back set that read as stream ids (a stranger may have added others).
local function backIds(back)
  local ids = {}
  for _, id in ipairs(redis.call('SMEMBERS', back)) do
    if string.match(id, '^%d+%-%d+$') and #id <= 41 then ids[#ids + 1] = id end
  end
  return ids
end
local function finish(meta, n, channel)
  if n <= 0 then return end
  local left = redis.call('HINCRBY', meta, 'unfinished', -n)
  if left <= 0 then
    if left < 0 then redis.call('HSET', meta, 'unfinished', 0) end
    wake(channel, 'done')
  end
end
local function nowMs()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
local function held1(s, id, consumer)
  return #redis.call('XPENDING', s, 'g', id, id, 1, consumer) == 1
end
local function gotten(meta, n, channel, full)
  if n <= 0 then return end
  redis.call('HINCRBY', meta, 'gets', n)
  if full == nil then full = redis.call('HGET', meta, 'full') end
  if full == '1' then
    redis.call('HSET', meta, 'full', '0')
    wake(channel, 'room')
  end
end
-- A stream id as two numbers (ms, then sequence): ids compare as ms, then sequence.
local function parseId(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
-- Deletes the stream entries ids (a list), already acknowledged. XDEL costs a walk over its node's
-- deleted entries per id; when no entry older than the newest of them is still pending, every entry
-- up to it is acknowledged (all were delivered: they are older than one that was), and one exact
-- XTRIM MINID removes them in a single pass.
local function deleteAcked(s, ids)
  if #ids > 1 then
    local hms, hseq = parseId(ids[1])
    for i = 2, #ids do
      local ms, seq = parseId(ids[i])
      if ms > hms or (ms == hms and seq > hseq) then hms, hseq = ms, seq end
    end
    local p = redis.call('XPENDING', s, 'g')
    local older = false
    if p[1] > 0 then
      local ms, seq = parseId(p[2])
      older = ms < hms or (ms == hms and seq <= hseq)
    end
    if not older then
      redis.call('XTRIM', s, 'MINID', '=', string.format('%.0f-%.0f', hms, hseq + 1))
      return
    end
  end
  for i = 1, #ids, 1000 do
    redis.call('XDEL', s, unpack(ids, i, math.min(i + 999, #ids)))
  end
end
-- Acknowledges and deletes ARGV[from..#ARGV] where consumer still holds them. Returns per id
-- 1 = it did (now acknowledged and deleted), 0 = another consumer holds it now (it was claimed
-- again), 2 = it is no longer in the stream at all; and how many were acknowledged.
local function ackIds(s, consumer, from)
  local n = #ARGV - from + 1
  local held = {}
  if n <= 4 then
    for i = from, #ARGV do
      if held1(s, ARGV[i], consumer) then held[ARGV[i]] = true end
    end
  else
    -- One range query for the whole batch: this consumer's pending entries between its lowest and
    -- highest id.
    local parse = parseId
    local lo, hi = ARGV[from], ARGV[from]
    local lms, lseq = parse(lo)
    local hms, hseq = lms, lseq
    for i = from + 1, #ARGV do
      local ms, seq = parse(ARGV[i])
      if ms < lms or (ms == lms and seq < lseq) then lo, lms, lseq = ARGV[i], ms, seq end
      if ms > hms or (ms == hms and seq > hseq) then hi, hms, hseq = ARGV[i], ms, seq end
    end
    local limit = n + 10000
    local p = redis.call('XPENDING', s, 'g', lo, hi, limit, consumer)
    if #p >= limit then
      for i = from, #ARGV do
        if held1(s, ARGV[i], consumer) then held[ARGV[i]] = true end
      end
    else
      for _, e in ipairs(p) do held[e[1]] = true end
    end
  end
  local res = {}
  local owned = {}
  for i = from, #ARGV do
    local id = ARGV[i]
    if held[id] then
      owned[#owned + 1] = id
      res[#res + 1] = 1
    elseif #redis.call('XRANGE', s, id, id) == 0 then
      res[#res + 1] = 2
    else
      res[#res + 1] = 0
    end
  end
  for i = 1, #owned, 1000 do
    redis.call('XACK', s, 'g', unpack(owned, i, math.min(i + 999, #owned)))
  end
  deleteAcked(s, owned)
  return res, #owned
end
-- Delivers up to count messages to consumer, appending {id, payload, deliveries} to out. First,
-- at most every ${CLAIM_EVERY_MS} ms (or at once after a nack), those held longer than the
-- visibility timeout by a consumer (XAUTOCLAIM, resumed from its cursor); over maxdel deliveries
-- they move to the dead-letter stream instead. Then new ones. m = HMGET meta shutdown, vis, maxdel,
-- kind, nextclaim, claimcur. Returns how many.
local function take(meta, s, dead, back, consumer, channel, count, m, out)
  local got = 0
  local now = nowMs()
  if now >= tonumber(m[5] or '0') then
    local maxdel = tonumber(m[3])
    local r = redis.call('XAUTOCLAIM', s, 'g', consumer, m[2], m[6] or '0-0', 'COUNT', count)
    redis.call('HSET', meta, 'claimcur', r[1])
    -- Claimed (or found deleted): no longer given back, whichever they were.
    local claimed = {}
    for _, e in ipairs(r[2]) do claimed[#claimed + 1] = e[1] end
    for _, id in ipairs(r[3] or {}) do claimed[#claimed + 1] = id end
    for i = 1, #claimed, 1000 do
      redis.call('SREM', back, unpack(claimed, i, math.min(i + 999, #claimed)))
    end
    -- Cursor back at the start: every pending entry was looked at; not again for a while.
    if r[1] == '0-0' then redis.call('HSET', meta, 'nextclaim', now + ${CLAIM_EVERY_MS}) end
    local deadCount = 0
    for _, e in ipairs(r[2]) do
      local p = redis.call('XPENDING', s, 'g', e[1], e[1], 1)
      local n = p[1] and p[1][4] or 1
      if maxdel > 0 and n > maxdel then
        redis.call('XADD', dead, '*', 'd', e[2][2], 'id', e[1], 'deliveries', n - 1, 'consumer', consumer)
        redis.call('XACK', s, 'g', e[1])
        redis.call('XDEL', s, e[1])
        deadCount = deadCount + 1
      else
        out[#out + 1] = e[1]; out[#out + 1] = e[2][2]; out[#out + 1] = n
        got = got + 1
      end
    end
    if deadCount > 0 then
      redis.call('HINCRBY', meta, 'dead', deadCount)
      if m[4] == 'joinable' then finish(meta, deadCount, channel) end
    end
  end
  if got < count then
    local r = redis.call('XREADGROUP', 'GROUP', 'g', consumer, 'COUNT', count - got, 'STREAMS', s, '>')
    if r then
      for _, e in ipairs(r[1][2]) do
        out[#out + 1] = e[1]; out[#out + 1] = e[2][2]; out[#out + 1] = 1
        got = got + 1
      end
    end
  end
  return got
end`;

/**
 * KEYS meta, stream, back. ARGV mode ('create' | 'open' | 'either'), then for a create: kind, codec,
 * maxsize, maxmsg, vis, maxdel. Returns {created (1/0), HGETALL meta...} or {Exists} / {NotFound}.
 */
export const OPEN = script(
  'open',
  3,
  'allow-oom',
  `
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[1] == 'create' then return {${ScriptStatus.Exists}} end
  local all = redis.call('HGETALL', KEYS[1])
  table.insert(all, 1, 0)
  return all
end
if ARGV[1] == 'open' then return {${ScriptStatus.NotFound}} end
local t = redis.call('TIME')
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('XGROUP', 'CREATE', KEYS[2], 'g', '0', 'MKSTREAM')
redis.call('HSET', KEYS[1], 'v', ${FORMAT_VERSION}, 'kind', ARGV[2], 'codec', ARGV[3], 'maxsize', ARGV[4],
  'maxmsg', ARGV[5], 'vis', ARGV[6], 'maxdel', ARGV[7], 'created', t[1] * 1000 + math.floor(t[2] / 1000),
  'shutdown', 'none', 'puts', 0, 'gets', 0, 'unfinished', 0, 'dead', 0)
local all = redis.call('HGETALL', KEYS[1])
table.insert(all, 1, 1)
return all`,
);

/**
 * Bounded put, atomic: KEYS meta, stream, back. ARGV payloads. Puts as many as fit (all when
 * maxsize is 0) and returns how many; 0 when full (and raises the 'full' flag); or a status.
 */
export const PUT = script(
  'put',
  3,
  'deny',
  `
local m = redis.call('HMGET', KEYS[1], 'shutdown', 'maxsize', 'kind')
if not m[1] then return ${ScriptStatus.NotFound} end
if m[1] ~= 'none' then return ${ScriptStatus.Shutdown} end
local n = #ARGV
local maxsize = tonumber(m[2])
if maxsize > 0 and redis.call('XLEN', KEYS[2]) + n > maxsize then
  -- Only near the limit is the exact count needed (waiting = XLEN - pending + given back <= XLEN).
  local room = maxsize - queued(KEYS[2], KEYS[3])
  if room < n then
    -- Not all fit: a put waits for the rest, so the next acknowledgement publishes 'room'.
    redis.call('HSET', KEYS[1], 'full', '1')
    n = room
    if n <= 0 then return 0 end
  end
end
for i = 1, n do redis.call('XADD', KEYS[2], '*', 'd', ARGV[i]) end
redis.call('HINCRBY', KEYS[1], 'puts', n)
if m[3] == 'joinable' then redis.call('HINCRBY', KEYS[1], 'unfinished', n) end
return n`,
);

const TAKE_FIELDS = `'shutdown', 'vis', 'maxdel', 'kind', 'nextclaim', 'claimcur'`;

/**
 * Non-blocking take: KEYS meta, stream, dead, back. ARGV consumer, count, channel. Reclaims
 * (see take above), then reads new messages. Returns {0, id, payload, deliveries, ...}, {Shutdown}
 * once shut down and drained, or {NotFound}. The messages stay pending (delivered to `consumer`)
 * until acknowledged.
 */
export const TAKE = script(
  'take',
  4,
  'allow-oom',
  `
local m = redis.call('HMGET', KEYS[1], ${TAKE_FIELDS})
if not m[1] then return {${ScriptStatus.NotFound}} end
local out = {0}
local got = take(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[3], tonumber(ARGV[2]), m, out)
if got == 0 and m[1] ~= 'none' then return {${ScriptStatus.Shutdown}} end
return out`,
);

/**
 * Acknowledge and delete: KEYS meta, stream. ARGV consumer, channel, ids. For each id:
 * 1 = it was pending for `consumer` and is now acknowledged and deleted; 0 = another consumer holds
 * it now (it was claimed again); 2 = it is no longer in the stream at all.
 */
export const ACK = script(
  'ack',
  2,
  'allow-oom',
  `
local res, n = ackIds(KEYS[2], ARGV[1], 3)
gotten(KEYS[1], n, ARGV[2], nil)
return res`,
);

/**
 * Acknowledge and delete what a get received, sent without waiting for its reply (see
 * RedisQueue#ackSent): KEYS meta, stream. ARGV channel, ids. No ownership check: should another
 * consumer have claimed a message again meanwhile (its visibility timeout lapsed), this
 * acknowledgement, sent first, wins and the other consumer's acknowledgement finds it gone. Returns
 * how many were acknowledged.
 */
export const ACK_SENT = script(
  'ackSent',
  2,
  'allow-oom',
  `
local n = 0
for i = 2, #ARGV, 1000 do
  n = n + redis.call('XACK', KEYS[2], 'g', unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
deleteAcked(KEYS[2], ids)
gotten(KEYS[1], n, ARGV[1], nil)
return n`,
);

/**
 * Give back: KEYS meta, stream, back. ARGV consumer, channel, ids. Messages pending for `consumer`
 * become claimable at once (their idle time is set past the visibility timeout) and count as
 * waiting again; their delivery count is kept and grows by one when they are delivered again.
 * Returns how many were given back.
 */
export const NACK = script(
  'nack',
  3,
  'allow-oom',
  `
local vis = tonumber(redis.call('HGET', KEYS[1], 'vis') or '0')
local n = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local p = redis.call('XPENDING', KEYS[2], 'g', id, id, 1, ARGV[1])
  if #p == 1 then
    redis.call('XCLAIM', KEYS[2], 'g', ARGV[1], 0, id, 'IDLE', vis + 1000, 'JUSTID')
    redis.call('SADD', KEYS[3], id)
    n = n + 1
  end
end
if n > 0 then
  -- The next take looks for messages to claim at once, from the start; blocked reads take again.
  redis.call('HSET', KEYS[1], 'nextclaim', 0, 'claimcur', '0-0')
  wake(ARGV[2], 'ready')
end
return n`,
);

/**
 * Shutdown: KEYS meta, stream, back. ARGV immediate ('1'/'0'), channel. Immediate discards the
 * messages waiting (not yet delivered, or given back; counted as done for join). Returns how many
 * were discarded, or a status.
 */
export const SHUTDOWN = script(
  'shutdown',
  3,
  'allow-oom',
  `
local m = redis.call('HMGET', KEYS[1], 'shutdown', 'kind')
if not m[1] then return ${ScriptStatus.NotFound} end
local discarded = 0
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'shutdown', 'immediate')
  while true do
    local r = redis.call('XREADGROUP', 'GROUP', 'g', '__shmq_discard', 'COUNT', 1000, 'STREAMS', KEYS[2], '>')
    if not r then break end
    local ids = {}
    for _, e in ipairs(r[1][2]) do ids[#ids + 1] = e[1] end
    if #ids == 0 then break end
    redis.call('XACK', KEYS[2], 'g', unpack(ids))
    redis.call('XDEL', KEYS[2], unpack(ids))
    discarded = discarded + #ids
  end
  redis.call('XGROUP', 'DELCONSUMER', KEYS[2], 'g', '__shmq_discard')
  for _, id in ipairs(backIds(KEYS[3])) do
    -- One id at a time: an id out of range (a stranger's) is skipped, not a failed shutdown.
    local ok, n = pcall(redis.call, 'XACK', KEYS[2], 'g', id)
    if ok and n == 1 then
      redis.call('XDEL', KEYS[2], id)
      discarded = discarded + 1
    end
  end
  redis.call('DEL', KEYS[3])
  if m[2] == 'joinable' then finish(KEYS[1], discarded, ARGV[2]) end
elseif m[1] == 'none' then
  redis.call('HSET', KEYS[1], 'shutdown', 'graceful')
end
wake(ARGV[2], 'shutdown')
return discarded`,
);

/** KEYS meta. ARGV channel. Marks one task done; returns the tasks left, or a status. */
export const TASK_DONE = script(
  'taskDone',
  1,
  'allow-oom',
  `
local u = redis.call('HGET', KEYS[1], 'unfinished')
if not u then return ${ScriptStatus.NotFound} end
if tonumber(u) <= 0 then return ${ScriptStatus.TaskDoneTooMany} end
local left = redis.call('HINCRBY', KEYS[1], 'unfinished', -1)
if left == 0 then wake(ARGV[1], 'done') end
return left`,
);

/** KEYS meta, stream, back. Returns the messages waiting for a consumer, or a status. */
export const SIZE = script(
  'size',
  3,
  'no-writes',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return ${ScriptStatus.NotFound} end
return queued(KEYS[2], KEYS[3])`,
);

/**
 * KEYS meta, stream, dead, back. Returns {HGETALL meta, then: 'messages', n, 'pending', n,
 * 'deadLetters', n, 'consumers', n, 'lastDeliveredId', id} or {} when the queue does not exist.
 * Messages given back count as waiting ('messages'), not as 'pending'.
 */
export const STATS = script(
  'stats',
  4,
  'no-writes',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local all = redis.call('HGETALL', KEYS[1])
local p, consumers, last = 0, 0, '0-0'
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[2])
if ok then
  for _, g in ipairs(groups) do
    for i = 1, #g, 2 do
      if g[i] == 'pending' then p = g[i + 1] end
      if g[i] == 'consumers' then consumers = g[i + 1] end
      if g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
  end
end
local len = redis.call('XLEN', KEYS[2])
local back = givenBack(KEYS[4], p)
for _, v in ipairs({'messages', len - p + back, 'pending', p - back, 'deadLetters', redis.call('XLEN', KEYS[3]),
  'consumers', consumers, 'lastDeliveredId', last}) do all[#all + 1] = v end
return all`,
);

/**
 * Closing a handle: KEYS stream. ARGV consumer. Removes the consumer from the group when it holds
 * no message (a consumer holding messages stays, so that they can be reclaimed), and prunes other
 * consumers that hold nothing and were idle for over an hour (processes that died).
 */
export const FORGET_CONSUMER = script(
  'forgetConsumer',
  1,
  'allow-oom',
  `
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], 'g')
if not ok then return 0 end
local removed = 0
for _, c in ipairs(consumers) do
  local name, pend, idle
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'pending' then pend = c[i + 1]
    elseif c[i] == 'idle' then idle = c[i + 1] end
  end
  if pend == 0 and (name == ARGV[1] or idle > 3600000) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], 'g', name)
    removed = removed + 1
  end
end
return removed`,
);

/** KEYS meta, stream, dead, back. ARGV channel. Deletes the queue; returns 1 if it existed. */
export const UNLINK = script(
  'unlink',
  4,
  'allow-oom',
  `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
if existed == 1 then wake(ARGV[1], 'unlink') end
return existed`,
);

/**
 * Peek: KEYS meta, stream, back. ARGV count. The next `count` messages a consumer would get, without
 * taking them: those given back first (the next take claims them), oldest first, then those not
 * delivered yet: {0, id, payload, ...}.
 */
export const PEEK = script(
  'peek',
  3,
  'no-writes',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return {${ScriptStatus.NotFound}} end
local last = '0-0'
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[2])
if ok then
  for _, g in ipairs(groups) do
    for i = 1, #g, 2 do if g[i] == 'last-delivered-id' then last = g[i + 1] end end
  end
end
local count = tonumber(ARGV[1])
local out = {0}
local back = backIds(KEYS[3])
table.sort(back, function(a, b)
  local ams, aseq = parseId(a)
  local bms, bseq = parseId(b)
  return ams < bms or (ams == bms and aseq < bseq)
end)
for _, id in ipairs(back) do
  if (#out - 1) / 2 >= count then break end
  local ok, r = pcall(redis.call, 'XRANGE', KEYS[2], id, id)
  local e = ok and r[1]
  if e then out[#out + 1] = e[1]; out[#out + 1] = e[2][2] end
end
local left = count - (#out - 1) / 2
if left > 0 then
  local r = redis.call('XRANGE', KEYS[2], '(' .. last, '+', 'COUNT', left)
  for _, e in ipairs(r) do out[#out + 1] = e[1]; out[#out + 1] = e[2][2] end
end
return out`,
);
