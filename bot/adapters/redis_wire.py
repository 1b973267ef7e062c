"""Redis below redis-py's command layer, for the few hot calls (the webhook's append, a drain's
scripts): commands packed from parts that are bytes already, sent on connections kept out of
the pool. redis-py's checkout, retry wrapper and metrics cost ~30 µs of CPU per call above the
exchange itself, more than the scripts' own work (issue 17)."""
from __future__ import annotations

import hashlib
import os

import redis


def packed(*parts: bytes) -> bytes:
    """One command in Redis's wire protocol (RESP), from parts that are bytes already."""
    return b"*%d\r\n" % len(parts) + bulks(*parts)


def bulks(*parts: bytes) -> bytes:
    """Parts of a command as RESP bulk strings."""
    return b"".join([b"$%d\r\n%s\r\n" % (len(part), part) for part in parts])


class KeptConnections:
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


class KeptScript:
    """A Lua script run by EVALSHA on kept connections (KeptConnections), loaded again when Redis
    forgot it (a restart)."""

    def __init__(self, connections: KeptConnections, script: str):
        self._connections = connections
        self._script = script.encode()
        self.sha = hashlib.sha1(self._script).hexdigest().encode()

    def __call__(self, keys: list, args: list):
        """One call, as redis-py's registered script takes it: keys and arguments as str, bytes or int."""
        parts = [as_bytes(part) for part in (*keys, *args)]
        return self.run_packed(packed(b"EVALSHA", self.sha, b"%d" % len(keys), *parts), 1)[0]

    def run_packed(self, commands: bytes, count: int) -> list:
        """EVALSHA commands packed already (`count` of them, one write); if Redis lost the script
        (NOSCRIPT: none of them ran), load it and run them again."""
        results = self._exchange(commands, count)
        if any(isinstance(r, redis.exceptions.NoScriptError) for r in results):
            self._exchange(packed(b"SCRIPT", b"LOAD", self._script), 1)
            results = self._exchange(commands, count)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    def _exchange(self, commands: bytes, count: int) -> list:
        """Send packed commands in one write and read their `count` answers (an error answer is
        returned, not raised). A kept connection that Redis closed (a restart, an idle timeout)
        fails on first use: it reconnects and tries once more."""
        for attempt in range(2):
            connection = self._connections.take()
            try:
                connection.send_packed_command([commands], check_health=False)
                return [answer(connection) for _ in range(count)]
            except redis.ConnectionError:
                if attempt:
                    raise
            except BaseException:
                connection.disconnect()         # answers may be left unread on it
                raise
            finally:
                self._connections.give_back(connection)
        raise AssertionError("unreachable")


def as_bytes(part: str | bytes | int) -> bytes:
    if isinstance(part, bytes):
        return part
    return str(part).encode()


def answer(connection):
    try:
        return connection.read_response()
    except redis.ResponseError as error:     # Redis answered with an error: the stream is intact
        return error
