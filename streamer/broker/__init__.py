"""A local Apache Kafka broker without Docker: ``apigen kafka`` and the tests' broker.

Fetches the broker's jars from Maven Central once (:func:`fetch`) and runs a single-node
KRaft broker (:class:`LocalKafkaBroker`).

Imports nothing of ``streamer``.
"""

from ._kafka import (
    KAFKA_VERSION,
    BrokerError,
    LocalKafkaBroker,
    default_home,
    fetch,
    free_port,
    jars_present,
)

__all__ = [
    "KAFKA_VERSION",
    "BrokerError",
    "LocalKafkaBroker",
    "default_home",
    "fetch",
    "free_port",
    "jars_present",
]
