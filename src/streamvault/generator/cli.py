"""The `streamvault generate` command."""

from __future__ import annotations

import random
import signal
import sys
import threading
from datetime import datetime

import click
import redis
from confluent_kafka import KafkaException

from streamvault import config
from streamvault.cli_support import settings
from streamvault.generator.model import DEFAULT_TOPIC, TIME_FORMAT, GeneratorOptions
from streamvault.generator.publish import PublishError, stream
from streamvault.generator.simulator import Simulator

_DEFAULTS = GeneratorOptions()


def _share(flag: str, text: str):
    name = flag.lstrip("-").replace("-", "_")
    return click.option(flag, name, type=click.FloatRange(0, 1), default=getattr(_DEFAULTS, name),
                        show_default=True, help=text)


@click.command()
@click.option("--orders", type=click.IntRange(min=0),
              help=f"Orders to create, then finish their versions and exit [default: {_DEFAULTS.orders}, "
                   "or no limit with --rate].")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True),
              help="Orders per second, as a steady stream until Ctrl-C, --duration or --orders.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--seed", type=int, help="Same seed and options give identical messages [default: random, printed].")
@click.option("--users", type=click.IntRange(min=1), default=_DEFAULTS.users, show_default=True)
@click.option("--restaurants", type=click.IntRange(min=1), default=_DEFAULTS.restaurants, show_default=True)
@click.option("--max-items", type=click.IntRange(min=1), default=_DEFAULTS.max_items, show_default=True,
              help="Most distinct dishes in one order.")
@_share("--cancelled", "Share of orders that end CANCELLED.")
@_share("--duplicates", "Share of order versions delivered twice (same bytes).")
@_share("--late", "Share of orders whose older version arrives after a newer one.")
@_share("--flips", "Share of orders flipped CLOSED<->CANCELLED by newer versions.")
@_share("--reference-changes", "Per order: chance of a rename or menu edit written to Redis first.")
@_share("--unknown-ids", "Share of orders referencing a user, restaurant or dish missing from Redis "
                         "(half of them appear in Redis later).")
@_share("--malformed", "Per order: chance of a bad message (see generator/malformed.py).")
@_share("--non-orders", "Per order: chance of a non-order object (restaurant_review).")
@click.option("--topic", help=f"Source topic [default: $KAFKA_SOURCE_TOPIC or {DEFAULT_TOPIC}].")
@click.option("--start", type=click.DateTime([TIME_FORMAT, "%Y-%m-%d"]), default=_DEFAULTS.start.strftime(TIME_FORMAT),
              show_default=True, help="Start of the simulated clock (UTC).")
@click.option("--first-id", type=click.IntRange(min=0), help="First object_id [default: derived from the seed].")
@click.option("--progress/--no-progress", default=None, help="Progress bar [default: when stderr is a terminal].")
def generate(orders: int | None, rate: float | None, duration: float | None, seed: int | None, topic: str | None,
             start: datetime, first_id: int | None, progress: bool | None, **counts_and_shares: float) -> None:
    """Simulate the source system: reference data into Redis, orders into Kafka (docs/spec.md §1)."""
    kafka, redis_settings = settings(config.KafkaSettings), settings(config.RedisSettings)
    topic = topic or kafka.source_topic or DEFAULT_TOPIC
    if seed is None:
        seed = random.SystemRandom().randrange(10_000)
    if orders is None and rate is None:
        orders = _DEFAULTS.orders
    options = GeneratorOptions(seed=seed, start=start, first_object_id=first_id,
                               **counts_and_shares)  # type: ignore[arg-type]
    # Ctrl-C ends the stream as a flag for the rest of the command: raised as KeyboardInterrupt inside the
    # Kafka client's flush it came out as a SystemError from the client's C code, and the stream died before
    # its drain and its summary; after the stream there is nothing left to stop.
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    try:
        stats = stream(Simulator(options), kafka, redis_settings, topic, orders=orders, rate=rate,
                       duration=duration, progress=sys.stderr.isatty() if progress is None else progress,
                       stopped=stopped)
    except (PublishError, KafkaException, redis.RedisError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        # Nothing is left to stop; Python's exit would hand a late Ctrl-C back to the default, which kills.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    click.echo(f"generated {stats.summary()}; topic {topic}, seed {seed}")
