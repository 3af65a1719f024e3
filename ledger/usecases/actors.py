"""Who is asking: the governance admin or one agency."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller; `agency_id` is None for the admin."""

    agency_id: str | None

    @property
    def is_admin(self) -> bool:
        """True for the governance admin."""
        return self.agency_id is None

    @property
    def label(self) -> str:
        """How the store records this actor."""
        return "admin" if self.agency_id is None else f"agency:{self.agency_id}"


ADMIN = Actor(agency_id=None)
