"""CAS service-ticket validation (CAS protocol 2 or 3, what most French ENTs speak).

The client sends the service ticket the CAS server gave it; the server asks
the configured CAS server (`serviceValidate`, or `p3/serviceValidate`) whether
it is valid for this server's service URL and reads the XML answer with
defusedxml (no DTD, no entities). A ticket is single-use on the CAS side, so a
replayed ticket is refused there. The service URL must be this server's own:
a ticket issued to another application of the ENT proves nothing here.

Single logout: the server's token issued for a ticket is bound to a ProviderSession row whose `sid` is that
ticket; when the person signs out at the CAS server, it POSTs a SAML `LogoutRequest` naming the ticket
(`SessionIndex`) to the service's logout address (`POST /auth/cas/logout`), which revokes that session's tokens
and no other.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeXML
from defusedxml import DefusedXmlException

from graph.settings import Settings
from models.signin import ProviderSession
from permissions.remote import RemoteError, fetch

# At most 255 characters: the ticket is kept whole as its session's `sid` (models/signin.py), which single logout
# matches exactly.
TICKET = re.compile(r"ST-[A-Za-z0-9._-]{1,252}")
MAX_ANSWER = 256 * 1024


class CasRefused(Exception):
    """The CAS server refused the ticket; the message is safe to show."""


class CasUnavailable(Exception):
    """The CAS server could not be asked, or answered nonsense; the message is safe to show."""


@dataclass
class CasPerson:
    user: str
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def identifier(self, attribute: str | None) -> str | None:
        """The value that names the person: the CAS user, or the first value of the configured attribute."""
        if attribute is None:
            return self.user
        values = self.attributes.get(attribute) or []
        return values[0] if values else None


def service_allowed(configured: str, given: str) -> bool:
    """This server's service URL, possibly with a query string appended (a return path)."""
    if given == configured:
        return True
    joiner = "&" if "?" in configured else "?"
    return given.startswith(configured + joiner)


def validation_url(settings: Settings, ticket: str, service: str) -> str:
    path = "p3/serviceValidate" if settings.cas_protocol == "3" else "serviceValidate"
    return f"{settings.cas_server_url}/{path}?{urlencode({'service': service, 'ticket': ticket})}"


def _local(element: Element) -> str:
    return element.tag.rpartition("}")[2]


def _child(element: Element, name: str) -> Element | None:
    return next((child for child in element if _local(child) == name), None)


def _attributes(success: Element) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    holder = _child(success, "attributes")
    for item in holder if holder is not None else []:
        if _local(item) == "attribute" and item.get("name"):  # the name/value variant of some servers
            name, value = item.get("name", ""), item.get("value") or ""
        else:
            name, value = _local(item), (item.text or "")
        values.setdefault(name, []).append(value.strip())
    return values


def parse_answer(body: bytes) -> CasPerson:
    """The person of a successful validation; CasRefused for a refused ticket; CasUnavailable for nonsense."""
    try:
        root = SafeXML.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise CasUnavailable("The CAS server's answer cannot be read.") from None
    if _local(root) != "serviceResponse":
        raise CasUnavailable("The CAS server's answer cannot be read.")
    success = _child(root, "authenticationSuccess")
    if success is not None:
        user = _child(success, "user")
        name = (user.text or "").strip() if user is not None else ""
        if not name:
            raise CasUnavailable("The CAS server's answer names nobody.")
        return CasPerson(user=name, attributes=_attributes(success))
    failure = _child(root, "authenticationFailure")
    if failure is None:
        raise CasUnavailable("The CAS server's answer cannot be read.")
    code = failure.get("code", "")
    if code == "INTERNAL_ERROR":
        raise CasUnavailable("The CAS server reported an internal error; try again later.")
    if code == "INVALID_SERVICE":
        raise CasRefused("CAS_TICKET_NOT_FOR_SERVICE")
    raise CasRefused("CAS_TICKET_REFUSED")


async def validate_ticket(settings: Settings, ticket: str, service: str) -> CasPerson:
    """Ask the CAS server about `ticket`; at most `cas_timeout` seconds, off the event loop."""
    try:
        body = await fetch(validation_url(settings, ticket, service), timeout=settings.cas_timeout, limit=MAX_ANSWER)
    except RemoteError as exc:
        raise CasUnavailable(f"The CAS server {exc}; try again later.") from None
    return parse_answer(body)


MAX_LOGOUT_REQUEST = 64 * 1024


def logout_ticket(body: str) -> str | None:
    """The service ticket a CAS single-logout request names (its SAML `SessionIndex`); None when the request is
    not one (unreadable, hostile, or naming no well-formed ticket)."""
    if not body or len(body) > MAX_LOGOUT_REQUEST:
        return None
    try:
        root = SafeXML.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError):
        return None
    if _local(root) != "LogoutRequest":
        return None
    index = next((e for e in root.iter() if _local(e) == "SessionIndex"), None)
    ticket = (index.text or "").strip() if index is not None else ""
    return ticket if TICKET.fullmatch(ticket) else None


async def single_logout(settings: Settings, body: str) -> int:
    """Revoke the sessions opened with the ticket a CAS single-logout request names: how many were revoked."""
    ticket = logout_ticket(body)
    if ticket is None:
        return 0
    return await ProviderSession.filter(provider=settings.cas_provider, sid=ticket, revoked_at=None).update(
        revoked_at=dt.datetime.fromtimestamp(settings.clock(), tz=dt.UTC)
    )
