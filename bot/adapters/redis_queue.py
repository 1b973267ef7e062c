"""Events in Redis: the webhook's EventQueue and the worker's per-user inbox, on RQ.

Each event is appended to its user's list (order kept) by one Lua script, which also enqueues
an RQ job to drain that list when the list was empty: a user's list that already has events has
a drain job queued or a worker draining it, and a drain goes on until the list is empty (and
looks again after releasing its lock). A list left waiting anyway (a worker killed, a job out of
retries) is found by the sweep, which re-queues every waiting user. A worker holds a per-user
lock while it drains, and removes an event from the list only after it was handled and
committed, so a worker killed mid-job leaves the event for the next one.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import zlib
from datetime import UTC, datetime

import redis
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.utils import get_call_string, now

from bot.adapters import redis_text
from bot.adapters.dead_letters import RedisDeadLetters
from bot.pipeline.events import event_id_of, partition_of
from bot.ports import QueueUnavailableError

QUEUE_NAME = "line-events"
WORKER_QUEUES = (QUEUE_NAME, "bot-tasks")   # events first; notifications and other tasks after
DRAIN_JOB = "bot.jobs.drain_partition"
SEEN_TTL_S = 3 * 24 * 3600

# Mark the event as seen and append it, atomically: a redelivery can never be appended twice.
# When the user's list was empty, the drain job is stored and queued in the same step, as RQ's
# enqueue writes it (the job's hash, then its id at the end of the queue), so one round trip
# does it all and a repeat or an event behind others costs no job. Returns 0 (seen before),
# 1 (appended) or 2 (appended and a drain job queued).
# KEYS: seen marker, user's list, job hash, pending users, RQ queue, RQ's set of queues.
# ARGV: event, user, job id, job data, job description, time, seen TTL, RQ queue key, the job's
# other fields (JSON, the same for every user).
_APPEND = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[7]) then
  return 0
end
local length = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2])
if length > 1 then
  return 1
end
local fields = {'data', ARGV[4], 'description', ARGV[5], 'created_at', ARGV[6], 'enqueued_at', ARGV[6]}
for name, value in pairs(cjson.decode(ARGV[9])) do
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('RPUSH', KEYS[5], ARGV[3])
redis.call('SADD', KEYS[6], ARGV[8])
return 2
"""

# Remove the head only if it is the event we handled; forget the user when the list is empty.
_ACK = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
end
return 1
"""
# The drain's step after each event, in one round trip (three before: ack, refresh, peek):
# remove the handled head, extend the lock if it is still ours, and return the next head.
_ACK_NEXT = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('SREM', KEYS[2], ARGV[2])
end
if redis.call('GET', KEYS[3]) == ARGV[3] then
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return head
"""
# Release the lock and say how many events arrived meanwhile (one round trip, was two).
_RELEASE_COUNT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return redis.call('LLEN', KEYS[2])
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
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

PENDING_KEY = "bot:pending-partitions"
JOB_CACHE_SIZE = 10_000          # users whose drain job fields the webhook keeps ready
ATTEMPTS_TTL_S = 7 * 24 * 3600


def _events_key(partition: str) -> str:
    return f"bot:events:{partition}"


def _lock_key(partition: str) -> str:
    return f"bot:lock:{partition}"


def job_id_for(event_id: str) -> str:
    return "ev-" + hashlib.sha256(event_id.encode()).hexdigest()[:32]


def _packed(*parts: bytes) -> bytes:
    """One command in Redis's wire protocol (RESP), from parts that are bytes already."""
    return b"*%d\r\n" % len(parts) + _bulks(*parts)


def _bulks(*parts: bytes) -> bytes:
    """Parts of a command as RESP bulk strings."""
    return b"".join([b"$%d\r\n%s\r\n" % (len(part), part) for part in parts])


# The script's parts that are the same for every event, as sent.
_QUEUE_KEY = (Queue.redis_queue_namespace_prefix + QUEUE_NAME).encode()
_SHARED_KEYS = _bulks(PENDING_KEY.encode(), _QUEUE_KEY, Queue.redis_queues_keys.encode())
_JOB_KEY_PREFIX = Job.redis_job_namespace_prefix.encode()
_SEEN_TTL = str(SEEN_TTL_S).encode()


class RqEventQueue:
    """EventQueue port for the webhook: one Lua call per event, all of a body's in one round trip.

    This is the webhook's whole cost, so it talks to Redis below redis-py's command layer: the
    commands are packed here (their parts are already bytes) and sent on a connection this queue
    keeps, and the drain job's fields are built once per user instead of through RQ's Job.
    """

    def __init__(self, connection: redis.Redis):
        self._redis = connection
        self._queue = Queue(QUEUE_NAME, connection=connection)
        self._script = _APPEND.encode()
        self._sha = hashlib.sha1(self._script).hexdigest().encode()
        self._connections = _KeptConnections(connection.connection_pool)
        # EVALSHA's parts that are the same for every event, packed once: the command's length and
        # name, the script, the key count ... the shared keys ... the shared arguments.
        self._head = b"*%d\r\n" % (3 + 6 + 9) + _bulks(b"EVALSHA", self._sha, b"6")    # 6 keys, 9 arguments
        self._tail = _bulks(_SEEN_TTL, _QUEUE_KEY, _job_template(self._queue))
        self._job_cache: dict[str, tuple[bytes, bytes]] = {}

    def enqueue(self, events: list[dict]) -> int:
        try:
            return self._enqueue(events)
        except redis.RedisError as exc:
            raise QueueUnavailableError(f"Redis is unreachable: {type(exc).__name__}") from exc

    def _enqueue(self, events: list[dict]) -> int:
        stamp = _utc_stamp()
        commands = b"".join(self._append_command(event, stamp) for event in events)
        results = self._run(commands, len(events))
        return sum(1 for result in results if result in (1, 2))

    def _append_command(self, event: dict, stamp: bytes) -> bytes:
        event_id = event_id_of(event)
        partition = partition_of(event)
        event["webhookEventId"] = event_id
        raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        job_id = job_id_for(event_id).encode()
        data, description = self._drain_call(partition)
        return b"".join((self._head, _bulks(b"bot:seen:" + event_id.encode(), _events_key(partition).encode(),
                                            _JOB_KEY_PREFIX + job_id),
                         _SHARED_KEYS, _bulks(raw, partition.encode(), job_id, data, description, stamp), self._tail))

    def _drain_call(self, partition: str) -> tuple[bytes, bytes]:
        """The user's drain job as RQ's Job stores it (`data`: the zlib-compressed serialised
        call; `description`: the call as text); kept for users who write again."""
        cached = self._job_cache.get(partition)
        if cached is None:
            args = (partition,)
            data = zlib.compress(self._queue.serializer.dumps((DRAIN_JOB, None, args, {})))
            description = get_call_string(DRAIN_JOB, args, {}, max_length=75) or ""
            cached = (data, description.encode())
            if len(self._job_cache) >= JOB_CACHE_SIZE:
                self._job_cache.pop(next(iter(self._job_cache)), None)       # the oldest user first
            self._job_cache[partition] = cached
        return cached

    def _run(self, commands: bytes, count: int) -> list:
        """EVALSHA straight away; if Redis lost its scripts (a restart), load it and run again:
        a call that did run the first time is a repeat now and changes nothing."""
        results = self._exchange(commands, count)
        if any(isinstance(r, redis.exceptions.NoScriptError) for r in results):
            self._exchange(_packed(b"SCRIPT", b"LOAD", self._script), 1)
            results = self._exchange(commands, count)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    def _exchange(self, commands: bytes, count: int) -> list:
        """Send packed commands in one write and read their `count` answers (an error answer is
        returned, not raised). A kept connection that Redis closed (a restart, an idle timeout)
        fails on first use: it reconnects and tries once more, which a repeat makes harmless."""
        for attempt in range(2):
            connection = self._connections.take()
            try:
                connection.send_packed_command([commands], check_health=False)
                return [_answer(connection) for _ in range(count)]
            except redis.ConnectionError:
                if attempt:
                    raise
            except BaseException:
                connection.disconnect()         # answers may be left unread on it
                raise
            finally:
                self._connections.give_back(connection)
        raise AssertionError("unreachable")

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False


class _KeptConnections:
    """Connections taken from the client's pool once and kept, one request at a time on each.

    redis-py's checkout and return cost about 0.1 ms of CPU (locks, pid checks, metrics); pop and
    append on a list are atomic under the GIL. The pool still counts them as in use, so its
    disconnect() reaches them too; a connection it closed reconnects on its next command."""

    def __init__(self, pool: redis.ConnectionPool):
        self._pool = pool
        self._idle: list = []
        self._pid = os.getpid()

    def take(self):
        if self._pid != os.getpid():            # a forked child never writes on its parent's sockets
            self._idle, self._pid = [], os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            return self._pool.get_connection()

    def give_back(self, connection) -> None:
        self._idle.append(connection)


def _answer(connection):
    try:
        return connection.read_response()
    except redis.ResponseError as error:     # Redis answered with an error: the stream is intact
        return error


def _utc_stamp() -> bytes:
    """Now as RQ writes job times (rq.utils.utcformat), without strftime's cost."""
    return (datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z").encode()


def _job_template(queue: Queue) -> bytes:
    """The drain job's fields that are the same for every user, as RQ's enqueue writes them
    (status, origin, timeouts, retries...), as JSON for the script."""
    job = queue.create_job(DRAIN_JOB, args=("template",), result_ttl=600, failure_ttl=7 * 24 * 3600,
                           retry=Retry(max=5, interval=[2, 5, 15, 30, 60]), status=JobStatus.QUEUED)
    job.origin = queue.name
    job.enqueued_at = now()
    fields = job.to_dict()
    for per_user_or_timed in ("data", "description", "created_at", "enqueued_at"):
        fields.pop(per_user_or_timed, None)
    return json.dumps({name: _as_text(value) for name, value in fields.items()}).encode()


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
        self._ack = connection.register_script(_ACK)
        self._release = connection.register_script(_RELEASE)
        self._refresh = connection.register_script(_REFRESH)
        self._ack_next = connection.register_script(_ACK_NEXT)
        self._release_count = connection.register_script(_RELEASE_COUNT)
        self._note_failure = connection.register_script(_NOTE_FAILURE)
        self._queue = Queue(QUEUE_NAME, connection=connection)
        self.dead_letters = dead_letters or RedisDeadLetters(connection)
        self._attempt_spacing_ms = max(1, int(attempt_spacing_s * 1000))
        self._live_owners: set[str] = set()     # lock owners of this process that are still draining

    def new_owner(self) -> str:
        owner = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self._live_owners.add(owner)
        return owner

    def acquire(self, partition: str, owner: str) -> bool:
        key = _lock_key(partition)
        if self._redis.set(key, owner, nx=True, px=self._lock_ttl_ms):
            return True
        holder = self._redis.get(key)
        if holder and self._is_stale_owner(redis_text(holder)):
            # A worker on this machine was killed while holding the lock, or this process lost
            # Redis during a drain and the lock survived (AOF): take it over now instead of
            # waiting for the lock to expire.
            self._release(keys=[key], args=[holder])
            return bool(self._redis.set(key, owner, nx=True, px=self._lock_ttl_ms))
        return False

    def _is_stale_owner(self, holder: str) -> bool:
        if holder.startswith(f"{socket.gethostname()}:{os.getpid()}:"):
            return holder not in self._live_owners
        return _is_dead_local_owner(holder)

    def is_locked(self, partition: str) -> bool:
        return bool(self._redis.exists(_lock_key(partition)))

    def refresh(self, partition: str, owner: str) -> None:
        self._refresh(keys=[_lock_key(partition)], args=[owner, self._lock_ttl_ms])

    def release(self, partition: str, owner: str) -> None:
        self._live_owners.discard(owner)        # first: if Redis is down now, the lock is stale to us
        self._release(keys=[_lock_key(partition)], args=[owner])

    def release_counting(self, partition: str, owner: str) -> int:
        """Release the lock; returns how many events wait in the list (arrived during the drain)."""
        self._live_owners.discard(owner)
        return int(self._release_count(keys=[_lock_key(partition), _events_key(partition)], args=[owner]))

    def ack_and_peek(self, partition: str, raw: str, owner: str) -> str | None:
        """`ack` the handled head, `refresh` the lock and `peek` the next event, in one round trip."""
        head = self._ack_next(keys=[_events_key(partition), PENDING_KEY, _lock_key(partition)],
                              args=[raw, partition, owner, self._lock_ttl_ms])
        return redis_text(head) if head is not None else None

    def peek(self, partition: str) -> str | None:
        raw = self._redis.lindex(_events_key(partition), 0)
        return redis_text(raw) if raw is not None else None

    def ack(self, partition: str, raw: str) -> None:
        self._ack(keys=[_events_key(partition), PENDING_KEY], args=[raw, partition])

    def length(self, partition: str) -> int:
        return int(self._redis.llen(_events_key(partition)))

    def recover(self) -> int:
        """Schedule a drain for every user with waiting events (after a crash or restart)."""
        partitions = [redis_text(p) for p in self._redis.smembers(PENDING_KEY)]
        if partitions:
            self._queue.enqueue_many([drain_job_data(p) for p in partitions])
        return len(partitions)

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
        self._queue.enqueue_many([drain_job_data(partition)])
        return partition

    def waiting_partitions(self) -> list[str]:
        return [redis_text(p) for p in self._redis.smembers(PENDING_KEY)]

    def requeue_idle(self) -> int:
        """The sweep: schedule a drain for every user with waiting events whose list nobody holds.

        One sweep job per user at a time: while a worker is paused (database down) the sweeps
        do not pile up a job per user per tick.
        """
        idle = [p for p in self.waiting_partitions() if not self.is_locked(p)]
        if not idle:
            return 0
        job_ids = [_sweep_job_id(p) for p in idle]
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(f"rq:job:{job_id}", "status")
            statuses = pipe.execute()
        due = [(p, j) for p, j, status in zip(idle, job_ids, statuses) if status not in {b"queued", b"scheduled"}]
        if due:
            self._queue.enqueue_many([drain_job_data(p, j) for p, j in due])
        return len(due)

    def backlog(self) -> int:
        return sum(self.length(redis_text(p)) for p in self._redis.smembers(PENDING_KEY))


def _sweep_job_id(partition: str) -> str:
    return "sweep-" + hashlib.sha256(partition.encode()).hexdigest()[:32]


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
