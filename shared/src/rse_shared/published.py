"""A service's translator: its stored domain events -> the integration events it publishes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from rse_shared.contracts import IntegrationEvent, envelope_of

E = TypeVar("E")
Envelope = dict[str, Any]
Translation = Callable[[E, Envelope], IntegrationEvent]


class Publisher:
    """What one producer publishes: one translation per domain event class, nothing else.

    A domain event with no translation stays inside the service (the relay skips it).
    Used as the relay's `Translator`: `publisher(domain_event, position)`.
    """

    def __init__(
        self, producer: str, *, citizen_of: Callable[[Any], uuid.UUID] | None = None
    ) -> None:
        self.producer = producer
        self.citizen_of = citizen_of
        self._translations: dict[type[Any], Translation[Any]] = {}

    def translates(self, domain_event: type[E]) -> Callable[[Translation[E]], Translation[E]]:
        """Register `translation(event, envelope)` for one domain event class."""

        def register(translation: Translation[E]) -> Translation[E]:
            self._translations[domain_event] = translation
            return translation

        return register

    def published_types(self) -> tuple[type[Any], ...]:
        """The domain event classes this producer publishes."""
        return tuple(self._translations)

    def __call__(self, event: Any, position: int) -> IntegrationEvent | None:
        for cls in type(event).__mro__:
            translation = self._translations.get(cls)
            if translation is not None:
                citizen = self.citizen_of(event) if self.citizen_of else None
                return translation(event, envelope_of(event, position, self.producer, citizen))
        return None
