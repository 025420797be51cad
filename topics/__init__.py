"""Event contracts, serialization and transports (the pipeline's backbone)."""

from ._embedded import EmbeddedTransport
from ._errors import MalformedEvent, StorageFull, TopicNotFound, TopicsError, TransportError
from ._events import (
    SCHEMA_VERSION,
    Call,
    CallResult,
    Event,
    EventMeta,
    Example,
    ExecPass,
    FormatPass,
    Generation,
    GenerationSettings,
    Judgement,
    QueryStyle,
    Reject,
    Sample,
    SemanticPass,
    Tool,
    Usage,
    derive_id,
)
from ._kafka import KafkaTransport
from ._memory import MemoryTransport
from ._names import PIPELINE, Topic
from ._serde import decode, decode_for_topic, encode, event_type_for_topic
from ._transport import (
    Consumer,
    Message,
    PartitionListener,
    Producer,
    Record,
    TopicPartition,
    Transport,
)

__all__ = [
    "PIPELINE",
    "SCHEMA_VERSION",
    "Call",
    "CallResult",
    "Consumer",
    "EmbeddedTransport",
    "Event",
    "EventMeta",
    "Example",
    "ExecPass",
    "FormatPass",
    "Generation",
    "GenerationSettings",
    "Judgement",
    "KafkaTransport",
    "MalformedEvent",
    "MemoryTransport",
    "Message",
    "PartitionListener",
    "Producer",
    "QueryStyle",
    "Record",
    "Reject",
    "Sample",
    "SemanticPass",
    "StorageFull",
    "Tool",
    "Topic",
    "TopicNotFound",
    "TopicPartition",
    "TopicsError",
    "Transport",
    "TransportError",
    "Usage",
    "decode",
    "decode_for_topic",
    "derive_id",
    "encode",
    "event_type_for_topic",
]
