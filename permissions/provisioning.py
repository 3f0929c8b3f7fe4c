"""Just-in-time linking and provisioning: what a sign-in does when the person an identity provider vouches for is
linked to no account here (docs/identity.md, « Linking and creating accounts on sign-in »).

Both are off by default, per provider (`Provisioning` of graph/settings.py). The provider's claims (OIDC) or
attributes (CAS) are read under configurable names; each may hold one value or a list:
- the school: the values of the UAI claim that are the UAI of a school here must be exactly one (none: the school
  is unknown; several: ambiguous). Schools are never created.
- `link_by_email`: the learner or teacher account of that school, active, whose email is the provider's email claim (refused when
  the provider says `email_verified: false`), is linked to the person's identifier at the provider.
- `provision`: otherwise the account is created, with the role the profile claim's values map to (exactly one
  role among them), names and email from the claims (without a usable email: an address of the `.invalid` domain),
  no password (the provider signs them in), and for a learner the classroom of that school whose code (or name)
  a value of the structure claim names, when exactly one does (never created).
Each link or account is written with its identity link and its audit entry (ACCESS_CHANGE, naming the provider, no
actor: the provider vouched) in one transaction. Two first sign-ins of the same person at once meet at the unique
constraints (identity link, email): the one that loses reads the other's account.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from graph.settings import Provisioning
from models import audit, stamps
from models.audit import AuditKind
from models.schools import Classroom, School
from models.users import ExternalIdentity, LearnerStatus, Role, User
from permissions.identities import MAX_SUBJECT, find_user

MAX_NAME = 100
MAX_EMAIL = 254
UAI_LENGTH = 8
# The GraphQL type each provisioned role is shown as, for the audit entry's subject.
TYPE_NAMES = {Role.LEARNER: "Learner", Role.TEACHER: "Teacher"}


class Refused(Exception):
    """The provider's claims sign nobody in; `key` is the refusal's code (both channels use it: a top-level
    error's key, a payload's reason, the OIDC callback's error), `params` the values its message names."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def claim_values(claims: Mapping[str, object], name: str) -> list[str]:
    """The non-empty text values of a claim: one string, or a list of them (other values are ignored)."""
    raw = claims.get(name)
    items = raw if isinstance(raw, list) else [raw]
    return [str(item).strip() for item in items if isinstance(item, (str, int)) and not isinstance(item, bool)]


def _first(claims: Mapping[str, object], name: str) -> str | None:
    values = [v for v in claim_values(claims, name) if v]
    return values[0] if values else None


async def school_of(rules: Provisioning, claims: Mapping[str, object]) -> School:
    """The one school here among the values of the UAI claim; Refused when none or several are."""
    values = {v.upper() for v in claim_values(claims, rules.uai_claim) if v}
    if not values:
        raise Refused("CLAIM_MISSING", claim=rules.uai_claim)
    # A UAI is 8 characters: longer values (other things the same attribute holds) name no school.
    uais = sorted(v for v in values if len(v) <= UAI_LENGTH)
    schools = await School.filter(uai__in=uais).order_by("id").limit(2) if uais else []
    if not schools:
        raise Refused("PROVIDER_SCHOOL_UNKNOWN", claim=rules.uai_claim)
    if len(schools) > 1:
        raise Refused("PROVIDER_SCHOOL_AMBIGUOUS", claim=rules.uai_claim)
    return schools[0]


def role_of(rules: Provisioning, claims: Mapping[str, object]) -> Role:
    """The one role the values of the profile claim map to; Refused when none or several do."""
    values = [v for v in claim_values(claims, rules.profile_claim) if v]
    if not values:
        raise Refused("CLAIM_MISSING", claim=rules.profile_claim)
    roles = {role for value in values if (role := rules.role_of(value)) is not None}
    if not roles:
        raise Refused("PROVIDER_PROFILE_NOT_MAPPED", profile=", ".join(values)[:200])
    if len(roles) > 1:
        raise Refused("PROVIDER_PROFILE_AMBIGUOUS", profile=", ".join(values)[:200])
    return Role(roles.pop())


def verified_email(rules: Provisioning, claims: Mapping[str, object]) -> str | None:
    """The email claim, lower-cased, when it looks like an address; None without one. Refused when the provider
    says it did not verify it."""
    email = (_first(claims, rules.email_claim) or "").lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain.strip(".") or " " in email or len(email) > MAX_EMAIL:
        return None
    if claims.get("email_verified") is False:
        raise Refused("PROVIDER_EMAIL_UNVERIFIED")
    return email


async def _classroom(school: School, values: list[str]) -> int | None:
    """The classroom of `school` the structure claim names by code, else by name, when exactly one; ENT values
    such as `<structure>$<code>` name the code after the last `$`."""
    names = {v.rpartition("$")[2].strip() for v in values if v}
    names = {name for name in names if 0 < len(name) <= MAX_NAME}
    if not names:
        return None
    for field in ("external_code__in", "name__in"):
        found = {row.id for row in await Classroom.filter(school_id=school.id, **{field: sorted(names)}).only("id")}
        if len(found) == 1:
            return found.pop()
        if found:
            return None  # several classrooms: the claim does not say which one
    return None


async def _trace(user: User, provider: str, what: str) -> None:
    """The audit entry of a link or an account the provider's word made: no actor (nobody of the school acted),
    the request's address and client when known. Written in the caller's transaction; the school's data stamp is
    bumped there too (lists of the school show the account, and its link)."""
    known = audit.origin.get()
    source = audit.Origin(
        school_id=user.school_id,
        actor_id=None,
        actor_role=None,
        link_id=None,
        address=known.address if known else None,
        user_agent=known.user_agent if known else None,
    )
    type_name = TYPE_NAMES[user.role]  # a provider links or creates only these roles' accounts (`provision`)
    await audit.record(
        AuditKind.ACCESS_CHANGE, type_name, user.id, f"{what} at sign-in through {provider}", source=source
    )
    await stamps.bump(stamps.school_scope(user.school_id))


async def _link(provider: str, subject: str, user: User) -> User:
    try:
        async with in_transaction():
            if await ExternalIdentity.exists(user_id=user.id, provider=provider):
                raise Refused("PROVIDER_ACCOUNT_LINKED_ELSEWHERE", provider=provider)
            await ExternalIdentity.create(user_id=user.id, provider=provider, subject=subject)
            await _trace(user, provider, "identity linked by email")
    except (IntegrityError, Refused):
        # The same person's other sign-in may have linked it meanwhile: then that link signs them in.
        return await _made_meanwhile(provider, subject, "PROVIDER_ACCOUNT_LINKED_ELSEWHERE")
    return user


async def _made_meanwhile(provider: str, subject: str, refusal: str) -> User:
    """After a write refused by a unique constraint (or the check before it): the account another sign-in of the
    same person linked or created meanwhile, read anew; else the refusal."""
    found = await find_user(provider, "external_id", subject)
    if found is None:
        raise Refused(refusal, provider=provider) from None
    return found


def _placeholder_email(provider: str, subject: str, school: School) -> str:
    """An address that reaches nobody (RFC 2606 `.invalid`), unique per identity, for an account whose provider
    gave no usable email: as the roster imports do (`@roster.invalid`)."""
    digest = hashlib.sha256(f"{provider}\n{subject}".encode()).hexdigest()[:20]
    domain = re.sub(r"[^a-z0-9-]+", "-", provider.lower())[:60].strip("-") or "provider"
    return f"{digest}.{school.uai.lower()}@{domain}.invalid"


async def _provision(
    provider: str, rules: Provisioning, subject: str, claims: Mapping[str, object], school: School, email: str | None
) -> User:
    role = role_of(rules, claims)
    names = {}
    for key, claim in (("first_name", rules.given_name_claim), ("last_name", rules.family_name_claim)):
        value = _first(claims, claim)
        if value is None:
            raise Refused("CLAIM_MISSING", claim=claim)
        names[key] = value[:MAX_NAME]
    classroom_id = (
        await _classroom(school, claim_values(claims, rules.structure_claim)) if role is Role.LEARNER else None
    )
    address = email or _placeholder_email(provider, subject, school)
    try:
        async with in_transaction():
            if await User.exists(email=address):
                raise Refused("PROVIDER_EMAIL_TAKEN", provider=provider)
            user = await User.create(
                school_id=school.id,
                role=role,
                email=address,
                password_hash=None,  # signs in through the provider only
                learner_status=LearnerStatus.SCHOOL if role is Role.LEARNER else None,
                classroom_id=classroom_id,
                first_name=names["first_name"],
                last_name=names["last_name"],
            )
            await ExternalIdentity.create(user_id=user.id, provider=provider, subject=subject)
            await _trace(user, provider, "account created")
    except (IntegrityError, Refused):
        # Two first sign-ins of the same person at once: the other one may have created the account.
        return await _made_meanwhile(provider, subject, "PROVIDER_EMAIL_TAKEN")
    return user


async def account_for(provider: str, rules: Provisioning, subject: str, claims: Mapping[str, object]) -> User:
    """The account of a person whom `provider` names `subject`, linked or created by the rules when nobody here
    has that identity yet; Refused (IDENTITY_NOT_LINKED when the rules are off) when they sign nobody in."""
    subject = subject.strip()
    user = await find_user(provider, "external_id", subject)
    if user is not None:
        return user
    if (
        not rules.enabled
        or not subject
        or len(subject) > MAX_SUBJECT
        # Linked to a deactivated account: it stays out, as without the rules.
        or await ExternalIdentity.exists(provider=provider, subject=subject)
    ):
        raise Refused("IDENTITY_NOT_LINKED", provider=provider)
    school = await school_of(rules, claims)
    if rules.link_by_email:
        email = verified_email(rules, claims)
        if email is not None:
            # Only the roles a provider may create: an ENT that vouches for an administrator's (or a company
            # tutor's) email must not hand over that account; such an email is then PROVIDER_EMAIL_TAKEN.
            existing = await User.get_or_none(
                email=email, school_id=school.id, is_active=True, role__in=tuple(TYPE_NAMES)
            )
            if existing is not None:
                return await _link(provider, subject, existing)
    else:
        try:
            email = verified_email(rules, claims)
        except Refused:
            email = None  # an address the provider did not verify is not given to a new account
    if not rules.provision:
        raise Refused("IDENTITY_NOT_LINKED", provider=provider)
    return await _provision(provider, rules, subject, claims, school, email)
