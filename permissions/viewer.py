"""The signed-in person as the request sees them."""

from __future__ import annotations

from dataclasses import dataclass

from models.users import Role


@dataclass(frozen=True)
class Viewer:
    id: int
    role: Role
    school_id: int
    # The account still has the temporary password staff gave it (graph/context.py lets little through).
    password_change_required: bool = False
    # The account's token version when the token was checked (bumped to revoke every token of the account).
    token_version: int = 0
    # Set when the token came from a trainer link (permissions/links.py): the link, and the one portfolio its
    # token reaches. The row scopes (permissions/scopes.py) bound the trainer's reach to that portfolio.
    link_id: int | None = None
    # The sign-in at an identity provider the token is bound to (models/signin.py ProviderSession), if any: a
    # logout there revokes it, and the download URLs it signed with it.
    session_id: int | None = None
    link_portfolio_id: int | None = None

    @property
    def through_link(self) -> bool:
        return self.link_id is not None
