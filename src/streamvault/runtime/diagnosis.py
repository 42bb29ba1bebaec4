"""A failure in words an operator acts on: which server, and why.

The loop sees only what its last call raised, and a pool's "couldn't get a connection after 5 s" names neither
the server nor the cause, though the cause (a wrong password, an unknown CA, a certificate for another host)
is the one thing to fix. So a server's failure is named by the server, and a pool timeout is explained by one
connection attempt of our own (at most one per retry, which backs off).
"""

from __future__ import annotations

import psycopg
import redis
from confluent_kafka import KafkaException
from psycopg_pool import ConnectionPool, PoolTimeout

from streamvault.runtime.faults import describe


def explain(exc: BaseException, pool: ConnectionPool, servers: dict[str, str]) -> str:
    """`<Server> <address>: <Type>: <message>`; `servers` maps kafka, postgresql (and redis) to their addresses."""
    if isinstance(exc, PoolTimeout):
        exc = _connection_failure(pool) or exc
    if isinstance(exc, psycopg.Error):
        return f"PostgreSQL {servers['postgresql']}: {describe(exc, limit=300)}"
    if isinstance(exc, redis.RedisError) and "redis" in servers:
        return f"Redis {servers['redis']}: {describe(exc, limit=300)}"
    if isinstance(exc, KafkaException):
        return f"Kafka {servers['kafka']}: {describe(exc, limit=300)}"
    return describe(exc, limit=300)


def _connection_failure(pool: ConnectionPool) -> psycopg.Error | None:
    """Why the pool gets no connection, if a connection of our own fails too."""
    try:
        with psycopg.connect(pool.conninfo, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return exc
