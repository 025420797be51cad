"""Event contracts, serialization and transports (the pipeline's backbone).

:class:`KafkaTransport` is imported on first use: aiokafka costs ~0.13 s of start-up that a
run on the embedded log does not need.
"""

from typing import TYPE_CHECKING

from ._embedded import EmbeddedTransport
from ._errors import MalformedEvent, StorageFull, TopicNotFound, TopicsError, TransportError
from ._events import (
    SCHEMA_VERSION,
    Call,
    CallResult,
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
    SingleTurnEvent,
    Tool,
    Usage,
    derive_id,
)
from ._memory import MemoryTransport
from ._names import MULTI_TURN, PIPELINE, Topic
from ._serde import decode, decode_for_topic, encode, event_type_for_topic
from ._trajectories import (
    Blueprint,
    BlueprintPass,
    BlueprintTask,
    Event,
    MultiTurnEvent,
    Review,
    Role,
    Trajectory,
    TrajectoryPass,
    Turn,
)
from ._transport import (
    Consumer,
    Message,
    PartitionListener,
    Producer,
    Record,
    TopicPartition,
    Transport,
)

if TYPE_CHECKING:
    from ._kafka import KafkaTransport
else:

    def __getattr__(name: str) -> object:
        if name == "KafkaTransport":
            from ._kafka import KafkaTransport

            globals()[name] = KafkaTransport
            return KafkaTransport
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MULTI_TURN",
    "PIPELINE",
    "SCHEMA_VERSION",
    "Blueprint",
    "BlueprintPass",
    "BlueprintTask",
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
    "MultiTurnEvent",
    "PartitionListener",
    "Producer",
    "QueryStyle",
    "Record",
    "Reject",
    "Review",
    "Role",
    "Sample",
    "SemanticPass",
    "SingleTurnEvent",
    "StorageFull",
    "Tool",
    "Topic",
    "TopicNotFound",
    "TopicPartition",
    "TopicsError",
    "Trajectory",
    "TrajectoryPass",
    "Transport",
    "TransportError",
    "Turn",
    "Usage",
    "decode",
    "decode_for_topic",
    "derive_id",
    "encode",
    "event_type_for_topic",
]
