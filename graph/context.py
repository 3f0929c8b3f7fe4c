"""The typed request context: who is asking, their loaders, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as _Info

from graph.errors import Forbidden, PasswordChangeRequired, Unauthenticated
from graph.loaders import Loaders
from graph.messages import DEFAULT_LANGUAGE
from graph.settings import Settings
from models.audit import Collector, Origin
from permissions.table import allows, granted
from permissions.throttle import client_address
from permissions.viewer import Viewer


@dataclass
class Context:
    request: Request | None
    response: Response | None
    settings: Settings
    viewer: Viewer | None
    # Why the bearer token was refused, if one was sent and refused: the key of its message and the message's values.
    auth_problem: tuple[str, dict[str, Any]] | None = None
    # The language of the messages (graph/messages.py): negotiated from the request's Accept-Language.
    language: str = DEFAULT_LANGUAGE
    loaders: Loaders = field(default=None)  # type: ignore[assignment]
    # Read by Strawberry on WebSocket connections; unused over HTTP.
    connection_params: dict[str, Any] | None = None
    # The personal fields this request read of rows not the viewer's own (models/audit.py), written once it has
    # run (graph/app.py); None where nothing is traced (a WebSocket connection).
    audit: Collector | None = None

    def __post_init__(self) -> None:
        if self.loaders is None:
            self.loaders = Loaders(self.viewer)

    def require_viewer(self, *, temporary_password_ok: bool = False) -> Viewer:
        """The signed-in viewer. Someone still on a temporary password gets only what says
        `temporary_password_ok` (me, passwordChange): PASSWORD_CHANGE_REQUIRED everywhere else."""
        if self.viewer is None:
            key, params = self.auth_problem or ("SIGN_IN_REQUIRED", {})
            raise Unauthenticated(key, **params)
        if self.viewer.password_change_required and not temporary_password_ok:
            raise PasswordChangeRequired()
        return self.viewer

    def require_account(self, *, temporary_password_ok: bool = False) -> Viewer:
        """The signed-in viewer, acting on their account itself (its password, its tokens): FORBIDDEN through a
        trainer link, whose token acts on one portfolio and nothing else (access.md)."""
        viewer = self.require_viewer(temporary_password_ok=temporary_password_ok)
        if viewer.through_link:
            raise Forbidden()
        return viewer

    def require(self, rule_key: str, *, owned: bool | None = None) -> Viewer:
        """The viewer, if the access table grants them `rule_key` on a row they own or not (`owned`, which a rule
        granting the viewer's role its own rows needs: see `permissions.table.allows`); else FORBIDDEN."""
        viewer = self.require_viewer()
        if not allows(rule_key, viewer.role, owned=owned):
            raise Forbidden()
        return viewer

    def require_granted(self, rule_key: str) -> Viewer:
        """The viewer, if their role holds some grant of `rule_key`; else FORBIDDEN. A first gate, before the
        row is known: `require` with the row's ownership follows once it is."""
        viewer = self.require_viewer()
        if not granted(rule_key, viewer.role):
            raise Forbidden()
        return viewer

    def can(self, rule_key: str, *, owned: bool | None = None) -> bool:
        return (
            self.viewer is not None
            and not self.viewer.password_change_required
            and allows(rule_key, self.viewer.role, owned=owned)
        )

    def personal_read(self, type_name: str, row: Any, field_name: str, owned: bool) -> None:
        """A personal field of `row` answered with a value (graph/execution.py): traced unless the row is the
        viewer's own. The answer is then never kept by the response cache, whose hits would go untraced."""
        if owned or self.audit is None:
            return
        self.audit.read(type_name, row.id, field_name)
        self.mark_uncacheable()

    def mark_uncacheable(self) -> None:
        """This request's answer is not kept by the response cache (as graph.response_cache.mark_uncacheable does;
        that module sits above this one)."""
        if self.request is not None:
            self.request.state.uncacheable = True


def audit_origin(request: Request | None, viewer: Viewer | None, settings: Settings) -> Origin:
    """Who asks and from where, for the audit entries of a request: the client's address as the sign-in
    throttle reads it (behind trusted proxies, the forwarded one) and its User-Agent, cut to the column's size."""
    user_agent = request.headers.get("user-agent") if request is not None else None
    return Origin(
        school_id=viewer.school_id if viewer is not None else None,
        actor_id=viewer.id if viewer is not None else None,
        actor_role=viewer.role if viewer is not None else None,
        link_id=viewer.link_id if viewer is not None else None,
        address=client_address(request, settings.trusted_proxies)[:64] if request is not None else None,
        user_agent=user_agent[:255] if user_agent else None,
    )


Info = _Info[Context, None]
