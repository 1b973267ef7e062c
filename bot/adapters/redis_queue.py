"""Events in Redis: the webhook's EventQueue and the worker's per-user inbox, on RQ.

Each event is appended to its user's list (order kept) by one Lua script. When that list was
empty, the user joins the ready set (oldest first), and the same script queues a drainer job
if fewer drainers than workers are alive: a user's list that already has events is ready or
being drained, and a drain goes on until the list is empty (and looks again after releasing its
lock). A drainer (bot.jobs.drain_ready) takes ready users one after another until none is left
and, briefly, waits for the next one (blocked on the ready set), so under load one
RQ job serves many events, while an event arriving at a quiet moment still gets its own drainer
at once. Drainers hold leases that lapse, and the sweep drops those of dead
drainers and makes every waiting user whose list nobody holds ready again. A worker holds a
per-user lock while it drains, and removes an event from the list only after it was handled and
committed, so a worker killed mid-job leaves the event for the next one.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from datetime import UTC, datetime

import redis
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.utils import now
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from bot.adapters import redis_text
from bot.adapters.dead_letters import RedisDeadLetters
from bot.adapters.redis_wire import KeptConnections, KeptScript, bulks
from bot.pipeline.drainers import WAIT_FOR_READY
from bot.pipeline.events import event_id_of, partition_of
from bot.ports import QueueUnavailableError

QUEUE_NAME = "line-events"
WORKER_QUEUES = (QUEUE_NAME, "bot-tasks")   # events first; notifications and other tasks after
DRAIN_JOB = "bot.jobs.drain_partition"      # one user's list (a retry, jobs queued before drainers)
DRAINER_JOB = "bot.jobs.drain_ready"        # takes ready users one after another until none is left
SEEN_TTL_S = 3 * 24 * 3600

# Redis's own clock (one clock for every web and worker instance), in ms.
_NOW = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# Queue drain jobs ("drainers") while users wait in the ready set and fewer drainers than workers
# are alive. A drainer's lease (member of the drainers set, score = when it lapses) is the job's
# id while the job is queued, and its running owner's once it took a user; a lapsed lease no longer
# counts, so a drainer killed mid-way cannot hold a place for ever. Each job is stored and queued as
# RQ's enqueue writes it (the job's hash, then its id at the end of the queue). Returns how many
# drainers it queued. Needs: ready, drainers, workers, queue, queues, seq (keys); the job's fields
# (JSON) and its `data` (bytes), queue key, job key prefix, queued lease (ms), now (ms), stamp.
_SPAWN = """
local function spawn_drainers(ready, drainers, workers, queue, queues, seq, template, data, queue_key, job_prefix,
                              lease_ms, now, stamp)
  redis.call('ZREMRANGEBYSCORE', drainers, '-inf', now)
  local limit = math.max(1, redis.call('SCARD', workers))
  local waiting = redis.call('ZCARD', ready)
  local live = redis.call('ZCARD', drainers)
  local spawned = 0
  local fields = nil
  while live + spawned < limit and spawned < waiting do
    if not fields then
      fields = {'data', data, 'created_at', stamp, 'enqueued_at', stamp}
      for name, value in pairs(cjson.decode(template)) do
        fields[#fields + 1] = name
        fields[#fields + 1] = value
      end
    end
    local job_id = 'drain-' .. redis.call('INCR', seq)
    redis.call('HSET', job_prefix .. job_id, unpack(fields))
    redis.call('ZADD', drainers, now + lease_ms, job_id)
    redis.call('RPUSH', queue, job_id)
    redis.call('SADD', queues, queue_key)
    spawned = spawned + 1
  end
  return spawned
end
""" + _NOW

# Mark the event as seen and append it, atomically: a redelivery can never be appended twice.
# When the user's list was empty, the user joins the ready set and, if fewer drainers than
# workers are alive, a drainer job is queued in the same step: one round trip does it all, and a
# repeat, an event behind others or a user arriving while every worker drains costs no job.
# Returns 0 (seen before), 1 (appended) or 2 (appended and a drainer queued).
# KEYS: seen marker, user's list, pending users, ready users, drainers, RQ workers of the queue,
# RQ queue, RQ's set of queues, sequence.
# ARGV: event, user, seen TTL, drainer job fields (JSON), its data, RQ queue key, RQ job key
# prefix, queued lease (ms), time as RQ writes it.
_APPEND = _SPAWN + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  return 0
end
local length = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
if length > 1 then
  return 1
end
local now = now_ms()
redis.call('ZADD', KEYS[4], 'NX', redis.call('INCR', KEYS[9]), ARGV[2])
if spawn_drainers(KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], ARGV[4], ARGV[5], ARGV[6], ARGV[7],
                  tonumber(ARGV[8]), now, ARGV[9]) > 0 then
  return 2
end
return 1
"""

# A drainer takes the user who has waited longest, renewing its lease (the queued job's lease
# becomes the running owner's at the first take). When nobody waits it may keep its lease and
# wait on the ready set itself (returns 1), unless RQ jobs wait in its worker's queues: a drainer
# that waits holds the worker. Otherwise it gives up its lease in the same step: an event appended
# after this sees one drainer fewer and queues a new one, so a user who becomes ready is never
# left between a drainer that is leaving and one that is not coming.
# KEYS: ready users, drainers, the worker's RQ queues... ARGV: job id, owner, running lease (ms),
# may wait ('1' or '0').
_TAKE = _NOW + """
redis.call('ZREM', KEYS[2], ARGV[1])
local taken = redis.call('ZPOPMIN', KEYS[1])
if #taken > 0 then
  redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[3]), ARGV[2])
  return taken[1]
end
if ARGV[4] == '1' then
  local queued = 0
  for i = 3, #KEYS do
    queued = queued + redis.call('LLEN', KEYS[i])
  end
  if queued == 0 then
    redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[3]), ARGV[2])
    return 1
  end
end
redis.call('ZREM', KEYS[2], ARGV[2])
return false
"""

# Users become ready (the sweep, recovery, a replay, a drainer handing over) and drainers are
# queued for them up to the number of workers. Returns {users added, drainers queued}.
# KEYS: ready, drainers, workers, queue, queues, seq. ARGV: job fields, job data, queue key, job
# key prefix, queued lease (ms), stamp, owner leaving (or ''), users...
_READY = _SPAWN + """
if ARGV[7] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[7])
end
local now = now_ms()
local added = 0
for i = 8, #ARGV do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    added = added + redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[6]), ARGV[i])
  end
end
local spawned = spawn_drainers(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[2], ARGV[3],
                               ARGV[4], tonumber(ARGV[5]), now, ARGV[6])
return {added, spawned}
"""

# A drain's first step, in one round trip (two before: lock, peek): take the user's lock and
# read her first event; a list found empty is let go at once. Returns {1, head or nil} when the
# lock was taken (or is ours already: a call repeated after a lost connection), {0, its holder}
# when somebody else holds it.
_LOCK_AND_PEEK = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local holder = redis.call('GET', KEYS[1])
  if holder ~= ARGV[1] then
    return {0, holder}
  end
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  redis.call('DEL', KEYS[1])
end
return {1, head}
"""
# The drain's step after each event, in one round trip (four before: ack, refresh, peek, and
# release after the last): remove the handled head and return the next one with the lock
# extended; when none is left, forget the user and release the lock in the same step. An event
# appended after that finds the list empty and makes the user ready again, so none is left behind.
_ACK_NEXT = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
end
local head = redis.call('LINDEX', KEYS[1], 0)
local ours = redis.call('GET', KEYS[3]) == ARGV[3]
if not head then
  redis.call('SREM', KEYS[2], ARGV[2])
  if ours then
    redis.call('DEL', KEYS[3])
  end
elseif ours then
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return head
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Count a failed attempt at most once per spacing window: many jobs of one user retrying the
# same head event within seconds are one attempt, so "N attempts" always spans minutes.
_NOTE_FAILURE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then
  local count = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return count
end
return tonumber(redis.call('GET', KEYS[1]) or '0')
"""

PENDING_KEY = "bot:pending-partitions"     # every user with waiting events
READY_KEY = "bot:ready-partitions"         # users waiting for a drainer (sorted set, oldest first)
DRAINERS_KEY = "bot:drainers"              # drainer leases (sorted set: member -> when it lapses, ms)
SEQ_KEY = "bot:ready-seq"                  # the order users became ready in, and drainer ids
QUEUED_LEASE_MS = 600_000       # a queued drainer: its job is checked by the sweep, so long is safe
RUNNING_LEASE_MS = 60_000       # a running drainer renews at every user it takes
_LIVE_DRAINER_STATUSES = {b"queued", b"started"}
ATTEMPTS_TTL_S = 7 * 24 * 3600


def _events_key(partition: str) -> str:
    return f"bot:events:{partition}"


def _lock_key(partition: str) -> str:
    return f"bot:lock:{partition}"


# The script's parts that are the same for every event, as sent.
_QUEUE_KEY = (Queue.redis_queue_namespace_prefix + QUEUE_NAME).encode()
_WORKERS_KEY = (WORKERS_BY_QUEUE_KEY % QUEUE_NAME).encode()
_DRAINER_KEYS = (READY_KEY.encode(), DRAINERS_KEY.encode(), _WORKERS_KEY, _QUEUE_KEY,
                 Queue.redis_queues_keys.encode(), SEQ_KEY.encode())
_JOB_KEY_PREFIX = Job.redis_job_namespace_prefix.encode()
_WORKER_QUEUE_KEYS = tuple(Queue.redis_queue_namespace_prefix + name for name in WORKER_QUEUES)
_SEEN_TTL = str(SEEN_TTL_S).encode()


class RqEventQueue:
    """EventQueue port for the webhook: one Lua call per event, all of a body's in one round trip.

    This is the webhook's whole cost, so it talks to Redis below redis-py's command layer: the
    commands are packed here (their parts are already bytes) and sent on a connection this queue
    keeps, and the drainer job's fields (the same for every user) are built once.
    """

    def __init__(self, connection: redis.Redis):
        self._redis = connection
        self._append = KeptScript(KeptConnections(connection.connection_pool), _APPEND)
        # EVALSHA's parts that are the same for every event, packed once: the command's length and
        # name, the script, the key count ... the shared keys ... the shared arguments.
        self._head = b"*%d\r\n" % (3 + 9 + 9) + bulks(b"EVALSHA", self._append.sha, b"9")    # 9 keys, 9 arguments
        self._shared_keys = bulks(PENDING_KEY.encode(), *_DRAINER_KEYS)
        self._shared_args = bulks(_SEEN_TTL, *drainer_job_template(connection), _QUEUE_KEY, _JOB_KEY_PREFIX,
                                   str(QUEUED_LEASE_MS).encode())

    def enqueue(self, events: list[dict]) -> int:
        try:
            return self._enqueue(events)
        except redis.RedisError as exc:
            raise QueueUnavailableError(f"Redis is unreachable: {type(exc).__name__}") from exc

    def _enqueue(self, events: list[dict]) -> int:
        stamp = _utc_stamp()
        commands = b"".join(self._append_command(event, stamp) for event in events)
        results = self._append.run_packed(commands, len(events))
        return sum(1 for result in results if result in (1, 2))

    def _append_command(self, event: dict, stamp: bytes) -> bytes:
        event_id = event_id_of(event)
        partition = partition_of(event)
        event["webhookEventId"] = event_id
        raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        return b"".join((self._head, bulks(b"bot:seen:" + event_id.encode(), _events_key(partition).encode()),
                         self._shared_keys, bulks(raw, partition.encode()), self._shared_args, bulks(stamp)))

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False


def _utc_stamp() -> bytes:
    """Now as RQ writes job times (rq.utils.utcformat), without strftime's cost."""
    return (datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z").encode()


def drainer_job_template(connection: redis.Redis) -> tuple[bytes, bytes]:
    """The drainer job's fields as RQ's enqueue writes them (status, origin, timeouts...) as JSON,
    and its `data` (the compressed call, bytes) apart; only its id and times are set there. No RQ retry: a drainer that
    fails leaves its users in the pending set, and its lease lapses (see `drop_dead_drainers`)."""
    queue = Queue(QUEUE_NAME, connection=connection)
    job = queue.create_job(DRAINER_JOB, result_ttl=60, failure_ttl=7 * 24 * 3600, status=JobStatus.QUEUED)
    job.origin = queue.name
    job.enqueued_at = now()
    fields = job.to_dict()
    data = fields.pop("data")
    for timed in ("created_at", "enqueued_at"):
        fields.pop(timed, None)
    return json.dumps({name: _as_text(value) for name, value in fields.items()}).encode(), data


def _as_text(value) -> str:
    """A job field as redis-py would send it (a str enum such as JobStatus as its value)."""
    return str.__str__(value) if isinstance(value, str) else str(value)


def drain_job_data(partition: str, job_id: str | None = None):
    return Queue.prepare_data(DRAIN_JOB, args=(partition,), job_id=job_id, result_ttl=600,
                              failure_ttl=7 * 24 * 3600, retry=Retry(max=5, interval=[2, 5, 15, 30, 60]))


class RedisPartitionInbox:
    """The worker's side: lock a user's list, read its head, remove it once handled."""

    def __init__(self, connection: redis.Redis, lock_ttl_ms: int = 60_000, dead_letters: RedisDeadLetters | None = None,
                 attempt_spacing_s: float = 30.0):
        self._redis = connection
        self._lock_ttl_ms = lock_ttl_ms
        self._release = connection.register_script(_RELEASE)
        self._note_failure = connection.register_script(_NOTE_FAILURE)
        # A drain's three calls per user run on kept connections (see KeptScript).
        kept = KeptConnections(connection.connection_pool)
        self._take = KeptScript(kept, _TAKE)
        self._lock_and_peek = KeptScript(kept, _LOCK_AND_PEEK)
        self._ack_next = KeptScript(kept, _ACK_NEXT)
        self._ready = connection.register_script(_READY)
        self._drainer_template = drainer_job_template(connection)
        self._queue = Queue(QUEUE_NAME, connection=connection)
        self.dead_letters = dead_letters or RedisDeadLetters(connection)
        self._attempt_spacing_ms = max(1, int(attempt_spacing_s * 1000))
        self._live_owners: set[str] = set()     # lock owners of this process that are still draining

    def new_owner(self) -> str:
        owner = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self._live_owners.add(owner)
        return owner

    def lock_and_peek(self, partition: str, owner: str) -> tuple[bool, str | None]:
        """Take the user's lock and read her first event, in one round trip: (locked, head). A list
        found empty is released at once: (True, None). Somebody else's lock: (False, None)."""
        locked, value = self._lock_and_peek(keys=[_lock_key(partition), _events_key(partition)],
                                            args=[owner, self._lock_ttl_ms])
        if locked:
            if value is None:
                self._live_owners.discard(owner)        # the script let the lock go
                return True, None
            return True, redis_text(value)
        if not (value and self._took_over(partition, redis_text(value), owner)):
            return False, None
        head = self.peek(partition)
        if head is None:
            self.release(partition, owner)
        return True, head

    def _took_over(self, partition: str, holder: str, owner: str) -> bool:
        """A worker on this machine was killed while holding the lock, or this process lost
        Redis during a drain and the lock survived (AOF): take it over now instead of waiting
        for the lock to expire."""
        if not self._is_stale_owner(holder):
            return False
        key = _lock_key(partition)
        self._release(keys=[key], args=[holder])
        return bool(self._redis.set(key, owner, nx=True, px=self._lock_ttl_ms))

    def _is_stale_owner(self, holder: str) -> bool:
        if holder.startswith(f"{socket.gethostname()}:{os.getpid()}:"):
            return holder not in self._live_owners
        return _is_dead_local_owner(holder)

    def is_locked(self, partition: str) -> bool:
        return bool(self._redis.exists(_lock_key(partition)))

    def release(self, partition: str, owner: str) -> None:
        self._live_owners.discard(owner)        # first: if Redis is down now, the lock is stale to us
        self._release(keys=[_lock_key(partition)], args=[owner])

    def ack_and_next(self, partition: str, raw: str, owner: str) -> str | None:
        """Remove the handled head and return the next event, the lock extended; None when the
        list is empty, and then the lock is released in the same round trip."""
        head = self._ack_next(keys=[_events_key(partition), PENDING_KEY, _lock_key(partition)],
                              args=[raw, partition, owner, self._lock_ttl_ms])
        if head is None:
            self._live_owners.discard(owner)
            return None
        return redis_text(head)

    def peek(self, partition: str) -> str | None:
        raw = self._redis.lindex(_events_key(partition), 0)
        return redis_text(raw) if raw is not None else None

    def length(self, partition: str) -> int:
        return int(self._redis.llen(_events_key(partition)))

    def recover(self) -> int:
        """Make every user with waiting events ready and queue drainers for them (after a crash,
        a restart or an outage); drainers that died are dropped first."""
        partitions = self.waiting_partitions()
        self.drop_dead_drainers()
        self.make_ready(partitions)
        return len(partitions)

    # -- drainers: a few jobs that each take ready users until none is left --------------------

    def new_drainer(self, job_id: str) -> str:
        """The lease name of a drainer job that starts running in this process."""
        return f"{self.new_owner()}|{job_id}"

    def take_ready(self, job_id: str, owner: str, may_wait: bool = False) -> str | None:
        """The user who has waited longest. When nobody waits: WAIT_FOR_READY if `may_wait` and no
        RQ job waits for this worker (the lease is kept: wait_for_ready), else
        None, and then the drainer's lease is gone too."""
        taken = self._take(keys=[READY_KEY, DRAINERS_KEY, *_WORKER_QUEUE_KEYS],
                           args=[job_id, owner, RUNNING_LEASE_MS, "1" if may_wait else "0"])
        if taken == 1:
            return WAIT_FOR_READY
        if not taken:
            self._live_owners.discard(owner.partition("|")[0])
            return None
        return redis_text(taken)

    def wait_for_ready(self, timeout_s: float) -> str | None:
        """Block until a user is ready and take her (None after `timeout_s`); no CPU meanwhile.
        The lease was renewed by the take that said WAIT_FOR_READY. A timeout of 0 would block
        for ever: nothing is waited for then."""
        if timeout_s <= 0:
            return None
        taken = self._redis.bzpopmin([READY_KEY], timeout=timeout_s)
        return redis_text(taken[1]) if taken else None

    def finish_drainer(self, owner: str) -> int:
        """A drainer stops before the ready set is empty (its time is up, an outage): its lease
        goes, and drainers are queued for the users still waiting. Returns how many were queued."""
        self._live_owners.discard(owner.partition("|")[0])     # first: if Redis is down now, the lease is stale to us
        return self._make_ready([], leaving=owner)[1]

    def make_ready(self, partitions: list[str]) -> tuple[int, int]:
        """Put users in the ready set (those already there keep their place) and queue drainers
        for them, up to the number of workers. Returns (users added, drainers queued)."""
        added = spawned = 0
        for start in range(0, max(1, len(partitions)), 1000):
            batch_added, batch_spawned = self._make_ready(partitions[start:start + 1000])
            added, spawned = added + batch_added, spawned + batch_spawned
        return added, spawned

    def _make_ready(self, partitions: list[str], leaving: str = "") -> tuple[int, int]:
        added, spawned = self._ready(
            keys=list(_DRAINER_KEYS),
            args=[*self._drainer_template, _QUEUE_KEY, _JOB_KEY_PREFIX, QUEUED_LEASE_MS, _utc_stamp(), leaving,
                  *partitions])
        return int(added), int(spawned)

    def drop_dead_drainers(self) -> int:
        """Forget leases whose drainer cannot take another user: its job is no longer queued or
        running (finished, failed, lost), or its process is gone (on this machine) or lost Redis
        while draining (this process). The lapse of the lease covers the rest."""
        members = [redis_text(m) for m in self._redis.zrange(DRAINERS_KEY, 0, -1)]
        if not members:
            return 0
        with self._redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.hget(Job.redis_job_namespace_prefix + member.rpartition("|")[2], "status")
            statuses = pipe.execute()
        dead = [m for m, status in zip(members, statuses)
                if status not in _LIVE_DRAINER_STATUSES or ("|" in m and self._is_stale_owner(m.partition("|")[0]))]
        if dead:
            self._redis.zrem(DRAINERS_KEY, *dead)
        return len(dead)

    def retry_later(self, partition: str, delay_s: float = 2.0) -> None:
        """A user whose head event failed on its own: a drain job of that user alone, retried by RQ
        with spacing (as every drain was before drainers), so the drainer goes on with the others."""
        from datetime import timedelta
        job_id = "retry-" + hashlib.sha256(partition.encode()).hexdigest()[:32]
        if self._redis.hget(Job.redis_job_namespace_prefix + job_id, "status") in {b"scheduled", b"queued", b"started"}:
            return                      # one retry chain per user: the sweep may make her ready again meanwhile
        self._queue.enqueue_in(timedelta(seconds=delay_s), DRAIN_JOB, partition, job_id=job_id, result_ttl=600,
                               failure_ttl=7 * 24 * 3600, retry=Retry(max=5, interval=[2, 5, 15, 30, 60]))

    def note_failure(self, raw: str) -> int:
        """Count a failed attempt at this event (once per spacing window); returns the count so far."""
        key = _attempts_key(raw)
        return int(self._note_failure(keys=[key, key + ":gate"], args=[self._attempt_spacing_ms, ATTEMPTS_TTL_S]))

    def dead_letter(self, raw: str, reason: str, partition: str | None = None) -> None:
        """Set the event aside for an operator (it expires after DEAD_LETTER_DAYS)."""
        self.dead_letters.add(raw, partition or _partition_of_raw(raw), reason)

    def replay(self, raw: str, partition: str | None = None) -> str:
        """Put a set-aside event back at the end of its user's list, with fresh attempts."""
        partition = partition or _partition_of_raw(raw)
        key = _attempts_key(raw)
        with self._redis.pipeline() as pipe:
            pipe.delete(key, key + ":gate")
            pipe.rpush(_events_key(partition), raw)
            pipe.sadd(PENDING_KEY, partition)
            pipe.execute()
        self.make_ready([partition])
        return partition

    def waiting_partitions(self) -> list[str]:
        return [redis_text(p) for p in self._redis.smembers(PENDING_KEY)]

    def ready_count(self) -> int:
        return int(self._redis.zcard(READY_KEY))

    def requeue_idle(self) -> tuple[int, int]:
        """The sweep: every user with waiting events whose list nobody holds becomes ready (again),
        and drainers are queued for them. A user already in the ready set keeps her place, and no
        more drainers than workers are queued, so while workers are paused (database down) the
        sweeps pile up nothing. Returns (users added, drainers queued)."""
        idle = [p for p in self.waiting_partitions() if not self.is_locked(p)]
        self.drop_dead_drainers()
        return self.make_ready(idle)

    def backlog(self) -> int:
        return sum(self.length(redis_text(p)) for p in self._redis.smembers(PENDING_KEY))


def _attempts_key(raw: str) -> str:
    return "bot:attempts:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def _partition_of_raw(raw: str) -> str:
    try:
        event = json.loads(raw)
    except ValueError:
        return "no-source"
    return partition_of(event) if isinstance(event, dict) else "no-source"


def _is_dead_local_owner(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
