"""The signed-in person as the request sees them."""

from __future__ import annotations

from dataclasses import dataclass

from models.users import Role


@dataclass(frozen=True)
class Viewer:
    id: int
    role: Role
    school_id: int

    def is_self(self, user_id: int | None) -> bool:
        return user_id == self.id
