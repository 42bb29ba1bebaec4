"""Prometheus metrics of a service; one service per process, so the default registry is enough."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

messages_in = Counter("streamvault_messages_in_total", "Messages consumed and committed", ["service"])
messages_out = Counter("streamvault_messages_out_total", "Messages produced downstream", ["service"])
messages_dlq = Counter("streamvault_messages_dlq_total", "Messages sent to the dead-letter topic", ["service"])
other_objects = Counter("streamvault_other_objects_total",
                        "Source objects that are not orders: stored raw in stg, not forwarded", ["service"])
parked = Gauge("streamvault_parked_orders", "Orders waiting for reference data (the table statistics' estimate)",
               ["service"])
parked_expired = Counter("streamvault_parked_expired_total",
                         "Parked orders that waited longer than their bound and went to the dead-letter topic",
                         ["service"])
batch_size = Histogram("streamvault_batch_size", "Messages per committed batch", ["service"],
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
batch_seconds = Histogram("streamvault_batch_seconds", "Time to load and commit one batch", ["service"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
consumer_lag = Gauge("streamvault_consumer_lag", "Messages behind the end of the partition",
                     ["service", "topic", "partition"])
batch_failures = Counter("streamvault_batch_failures_total", "Batches aborted and retried", ["service", "reason"])
ready = Gauge("streamvault_ready", "1 when the service is ready", ["service"])
freshness_seconds = Histogram("streamvault_freshness_seconds",
                              "Source publish time of a message -> this service's commit of it", ["service"],
                              buckets=(0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
