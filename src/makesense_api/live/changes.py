"""A committed change as it travels between processes: a type and ids, nothing else."""

import uuid
from dataclasses import dataclass

import orjson

# Event changes of every chapter; subtree subscribers filter by host chapter.
EVENTS_TOPIC = "events"


def event_topic(event_id: uuid.UUID) -> str:
    """Every change to one event and to its registrations."""
    return f"event:{event_id}"


def _uuid(value: object) -> uuid.UUID | None:
    return uuid.UUID(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Change:
    """One committed domain event: `event.updated`, `registration.created`, …"""

    type: str
    chapter_id: uuid.UUID | None
    event_id: uuid.UUID | None

    @property
    def topics(self) -> list[str]:
        """The topics whose subscribers hear of it."""
        topics = [] if self.event_id is None else [event_topic(self.event_id)]
        if self.type.startswith("event."):
            topics.append(EVENTS_TOPIC)
        return topics

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "type": self.type,
                "chapter_id": None if self.chapter_id is None else str(self.chapter_id),
                "event_id": None if self.event_id is None else str(self.event_id),
            }
        )

    @classmethod
    def decode(cls, data: bytes | str) -> "Change":
        """Raises ValueError on anything that is not an encoded Change."""
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise ValueError("not a change")
        return cls(raw["type"], _uuid(raw.get("chapter_id")), _uuid(raw.get("event_id")))
