"""`streamvault generate`: a simulator of the source system (docs/spec.md §1), usable as a library by tests.

    timeline = build_timeline(GeneratorOptions(seed=7, orders=1000))  # pure, deterministic
    publish(timeline, kafka_settings, redis_settings, topic)            # writes it in order
"""

from streamvault.generator.model import (DEFAULT_TOPIC, Event, GeneratorOptions, KafkaMessage, RedisWrite, Stats,
                                         Timeline)
from streamvault.generator.publish import PublishError, publish, stream
from streamvault.generator.simulator import Simulator, build_timeline

__all__ = ["DEFAULT_TOPIC", "Event", "GeneratorOptions", "KafkaMessage", "PublishError", "RedisWrite", "Simulator",
           "Stats", "Timeline", "build_timeline", "publish", "stream"]
