"""Pieces every domain's types use: global IDs, user errors, guarded fields, pages."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import functools
import importlib
import json
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry import relay
from strawberry.types.enum import EnumAnnotation
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import SelectedField, Selection
from tortoise.expressions import Q

from graph.context import Context
from graph.errors import REASONS, BadUserInput, ErrorCode, FieldProblem, UserInputError
from graph.messages import render
from permissions.table import ACCESS_TABLE, Grant, allows, describe
from permissions.viewer import Viewer

T = TypeVar("T")

MAX_PAGE = 100
# Primary keys are 32-bit integers: an ID naming a larger key names no row, and the drivers refuse to
# compare one with the column (OverflowError on SQLite, DataError on PostgreSQL) instead of answering none.
MAX_KEY = 2**31 - 1


@functools.cache
def later(module: str, name: str) -> Any:
    """`name` of the types module `module`, looked up on first use. Types refer to each other both ways (a
    portfolio has a period, a period lists its portfolios): one way is an import, the other resolves here at run
    time, as the schema resolves the `strawberry.lazy` annotations of the same fields."""
    return getattr(importlib.import_module(module), name)


class _Missing:
    """The value of a prefetched slot nobody filled: the field resolves through its loader."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def prefetched(slot: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A resolver answering the object's Private `slot` when the list that built the object filled it (one query
    per kind of data for the whole list), and running as before (its loader) otherwise.

    A plain function either way: the prefetched value is answered synchronously, with no coroutine nor future;
    otherwise it returns the resolver's coroutine, which graphql-core awaits as it awaits any async resolver."""

    def decorate(resolver: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(resolver)
        def resolve(self: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            value = getattr(self, slot)
            if value is not MISSING:
                return value
            return resolver(self, info, *args, **kwargs)

        resolve.__dict__[PREFETCHED] = slot
        return resolve

    return decorate


PREFETCHED = "pfmp.prefetched"


def selections(info: Any) -> dict[str, list[Selection]]:
    """The sub-fields asked of the field being resolved, by schema name, fragments merged (each name's own
    sub-selections merged too): what a list may prefetch for its rows."""
    found: dict[str, list[Selection]] = {}
    for field in info.selected_fields:
        _merge(found, field.selections)
    return found


def sub_selections(selected: list[Selection]) -> dict[str, list[Selection]]:
    found: dict[str, list[Selection]] = {}
    _merge(found, selected)
    return found


def _merge(found: dict[str, list[Selection]], selected: list[Selection]) -> None:
    for item in selected:
        if isinstance(item, SelectedField):
            found.setdefault(item.name, []).extend(item.selections)
        else:
            _merge(found, item.selections)


@dataclasses.dataclass(frozen=True)
class DescribedEnum(EnumAnnotation):
    """`strawberry.enum` for an enum defined elsewhere (models/, graph/errors.py) that cannot hold
    `strawberry.enum_value`s: the description of each of its values, every value described."""

    values: tuple[tuple[str, str], ...] = ()

    def __call__(self, cls: Any) -> Any:
        cls = super().__call__(cls)
        described = dict(self.values)
        definition = cls.__strawberry_definition__
        missing = sorted({value.name for value in definition.values} - described.keys())
        if missing:
            raise TypeError(f"enum {definition.name}: no description for {', '.join(missing)}")
        for value in definition.values:
            value.description = described[value.name]
        return cls


def described_enum(description: str, values: dict[str, str], *, name: str | None = None) -> DescribedEnum:
    """The annotation of an enum with its description and one for each value, e.g.
    `Annotated[models.X, described_enum("What X is.", {"A": "…", "B": "…"})]`."""
    return DescribedEnum(name=name, description=description, values=tuple(values.items()))


ErrorCodeEnum = Annotated[
    ErrorCode,
    described_enum(
        "What is wrong with the input.",
        {
            "NOT_FOUND": "An ID names nothing you can reach.",
            "INVALID": "A value is malformed or not allowed here.",
            "REQUIRED": "A value is missing.",
            "CONFLICT": "The object's state refuses the change (a stale version, a locked period, …).",
            "UNIQUE": "The value is already taken.",
            "TOO_LARGE": "A file or a list is over its limit.",
            "THROTTLED": "Too many attempts: wait `retryAfter` seconds.",
        },
        name="UserErrorCode",
    ),
]


# Each reason with its description, from the one list of reasons (graph/errors.py, REASONS).
_REASONS: type[Enum] = Enum(  # type: ignore[misc]
    "UserErrorReason",
    {
        reason.name: strawberry.enum_value(
            reason.value, description=f"{spec.code.value}: {spec.description} Field: {spec.field}."
        )
        for reason, spec in REASONS.items()
    },
)
UserErrorReason = strawberry.enum(
    _REASONS,
    description="Which problem a UserError is, precisely: one value per problem a user can fix. Its `code` is "
    "the family it belongs to; docs/errors.md lists every reason with its code, field and messages.",
)


@strawberry.type(description="A problem with a mutation's input. Nothing was written.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path of the field at fault: `input`, then the path inside the mutation's one argument, e.g. "
        '["input", "learnerIds", "2"] (null when the whole request is).'
    )
    code: ErrorCodeEnum = strawberry.field(description="The family of the problem (NOT_FOUND, INVALID, CONFLICT, …).")
    reason: UserErrorReason = strawberry.field(  # type: ignore[valid-type]
        description="Which problem precisely: one value per problem a user can fix, each with its own message."
    )
    params: strawberry.Private[dict[str, Any]] = dataclasses.field(default_factory=dict)

    @strawberry.field(
        description="Human-readable explanation, safe to show, in the request's language: French by default, "
        "English when `Accept-Language` prefers it."
    )
    def message(self, info: strawberry.Info) -> str:
        return render("reason", self.reason.name, self.params, info.context.language)  # type: ignore[attr-defined]

    @classmethod
    def of(cls, problem: FieldProblem) -> UserError:
        return cls(
            field=problem.field,
            code=problem.code,
            reason=UserErrorReason[problem.reason.name],  # type: ignore[index]
            params=problem.params,
        )

    @classmethod
    def all_of(cls, error: UserInputError) -> list[UserError]:
        return [cls.of(p) for p in error.problems]


@strawberry.type(description="What every mutation answers: its own fields, and the problems with its input.")
class Payload:
    """The base of every mutation's payload (conventions.md, rule 5): `errors`, empty on success; a payload
    carrying errors comes with nothing written (`resolvers.mutations`)."""

    errors: list[UserError] = strawberry.field(default_factory=list, description="Empty on success.")


@dataclasses.dataclass(frozen=True)
class Owner:
    """How a guarded field says whether its row is the viewer's own, for a rule granting some role its own rows.

    `attribute` names the object's attribute holding the id of the user who owns the row (`id` for a person, the
    person themself). None: the rows this field is read on come through a row scope that gives every role with
    an OWN grant of the rule only its own rows (a learner reaches themself and what hangs off them), so any row
    the viewer reaches is their own.
    """

    attribute: str | None

    def owned(self, obj: Any, viewer: Viewer) -> bool:
        return True if self.attribute is None else getattr(obj, self.attribute) == viewer.id


SELF = Owner("id")
IN_REACH = Owner(None)


class Refusal(Enum):
    NULL = "null"  # the field answers null
    ERROR = "error"  # the field answers a top-level error (UNAUTHENTICATED, FORBIDDEN, …), as `Context.require`


GUARD = "pfmp.guard"


@dataclasses.dataclass(frozen=True)
class Guard:
    """The rule a field is guarded by, how ownership of its row is decided, and how it answers a refusal."""

    rule_key: str
    owner: Owner | None
    refusal: Refusal

    def __post_init__(self) -> None:
        rule = ACCESS_TABLE[self.rule_key]
        if self.owner is None and {Grant.OWN, Grant.OWN_ONCE_COMPLETED} & set(rule.grants.values()):
            raise TypeError(f"'{self.rule_key}' grants some role its own rows: say how the field's row is owned")

    def owned(self, obj: Any, viewer: Viewer) -> bool | None:
        return None if self.owner is None else self.owner.owned(obj, viewer)

    def lets(self, viewer: Viewer | None, obj: Any) -> bool:
        """Whether the viewer may read the field of `obj` (a data field: decided when the object is built)."""
        return viewer is not None and allows(self.rule_key, viewer.role, owned=self.owned(obj, viewer))

    def check(self, context: Context, obj: Any) -> bool:
        """Whether the resolver may run: True, False (answer null), or a top-level error raised."""
        viewer = context.viewer
        owned = self.owned(obj, viewer) if viewer is not None else None
        if self.refusal is Refusal.ERROR:
            context.require(self.rule_key, owned=owned)
            return True
        return viewer is not None and context.can(self.rule_key, owned=owned)


def _enforced(resolver: Callable[..., Any], guard: Guard) -> Callable[..., Any]:
    """The resolver, run only when the guard lets the viewer read the field; else null or the refusal's error.

    A plain function either way: for a coroutine resolver it returns the resolver's coroutine, which
    graphql-core awaits as it awaits any async resolver, so the guard adds no coroutine of its own, and a refused
    field answers null without creating one."""

    @functools.wraps(resolver)
    def checked(self: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if not guard.check(info.context, self):
            return None
        return resolver(self, info, *args, **kwargs)

    checked.__dict__[GUARD] = guard
    return checked


class GuardedField(StrawberryField):
    """A field guarded by a rule of the access table: as a decorator, its resolver runs only when the rule lets
    the viewer read it; as a plain attribute, the type's `GuardedFields.__post_init__` nulls it."""

    def __call__(self, resolver: Any) -> Any:
        return super().__call__(_enforced(resolver, self.metadata[GUARD]))


def guarded(
    description: str, rule_key: str, *, owner: Owner | None = None, refusal: Refusal = Refusal.NULL, **kwargs: Any
) -> Any:
    """A field guarded by `rule_key` of the access table: its description ends with who may see it, and the field
    answers null (or the refusal's error) to anyone the rule refuses.

    As a plain attribute of a type (which must mix in `GuardedFields`): the value is nulled once, when the object
    is built for its viewer. On a resolver (`@guarded(...)` as a decorator): checked before the resolver runs.
    `owner` says how the row is known to be the viewer's own: required when the rule grants some role its own
    rows only (else a TypeError at import).
    """
    guard = Guard(rule_key, owner, refusal)
    return GuardedField(
        python_name=None,
        graphql_name=kwargs.pop("name", None),
        type_annotation=None,
        description=f"{description} {describe(rule_key)}",
        metadata={GUARD: guard},
        permission_classes=[],
        extensions=[],
        **kwargs,
    )


_DATA_GUARDS: dict[type, tuple[tuple[str, Guard], ...]] = {}


def data_guards(cls: type) -> tuple[tuple[str, Guard], ...]:
    """The guarded data fields of a type (inherited ones included), with their guards: looked up once per type."""
    found = _DATA_GUARDS.get(cls)
    if found is None:
        found = _DATA_GUARDS[cls] = tuple(
            (f.name, f.metadata[GUARD])
            for f in dataclasses.fields(cls)
            if GUARD in f.metadata and getattr(f, "base_resolver", None) is None
        )
    return found


class GuardedFields:
    """Mixed into a type with guarded data fields: the type has a `viewer` (a Private field, so nobody builds one
    without saying for whom), and building it nulls every guarded field the access table refuses that viewer.
    Once per object, with no per-field resolver: lists of hundreds of rows stay plain attribute reads."""

    viewer: Viewer | None

    def __post_init__(self) -> None:
        viewer = self.viewer
        for name, guard in data_guards(type(self)):
            if not guard.lets(viewer, self):
                setattr(self, name, None)


def encode_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(relay.to_base64(type_name, pk))


# How a link to a document says where to GET it (graph/routes/exports.py), for the description of each link.
EXPORT_LINK = "GET it with the same bearer token; answers a DOCX (docs/exports.md)."


def export_url(route: str, type_name: str, pk: int) -> str:
    """Where to download the export `route` of a row: `/exports/<route>/{global id}`, built from the id alone (no
    statement), as `Annex.downloadUrl` is."""
    return f"/exports/{route}/{encode_id(type_name, pk)}"


def decode_id(value: str, *, expected: str | tuple[str, ...] | None = None, field: str = "id") -> tuple[str, int]:
    """(type name, primary key) of an opaque ID, or BAD_USER_INPUT naming the argument."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
        type_name, _, pk_text = raw.partition(":")
        pk = int(pk_text)
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput("ID_MALFORMED", field=field) from None
    if not type_name or not 0 < pk <= MAX_KEY:
        raise BadUserInput("ID_MALFORMED", field=field)
    if expected is not None:
        names = (expected,) if isinstance(expected, str) else expected
        if type_name not in names:
            raise BadUserInput("ID_WRONG_TYPE", field=field, types=" or ".join(names))
    return type_name, pk


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A time a client gave (`updatedSince`), in UTC; one without an offset is read as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        # Within a day of year 1 or of year 9999: before or after every row, as the edge of the calendar is.
        edge = dt.datetime.min if value.year == 1 else dt.datetime.max
        return edge.replace(tzinfo=dt.UTC)


UPDATED_SINCE = (
    "Only the rows changed at or after this time (`updatedAt` ≥ it), for a client's incremental sync: pass the "
    "newest `updatedAt` it received, a few seconds earlier (a change is dated when written, seen once committed). "
    "Cursors and `totalCount` follow the filtered list; a cursor of another `updatedSince` is refused. A time "
    "without an offset is UTC."
)


def check_page(first: int | None, maximum: int = MAX_PAGE) -> int:
    """The page size asked: `maximum` when `first` is not given, BAD_USER_INPUT beyond it."""
    if first is None:
        return maximum
    if first < 0 or first > maximum:
        raise BadUserInput("PAGE_SIZE_OUT_OF_RANGE", max=maximum)
    return first


def version_field() -> Any:
    """The `version` of a mutation's input that edits a versioned object (optimistic concurrency)."""
    return strawberry.field(
        description="The version you read (`version` of the object); CONFLICT when it changed since."
    )


# The paging arguments of a connection whose page size is the server's (`check_page`).
PageSize = Annotated[
    int | None, strawberry.argument(description="At most this many items (the page size, capped by the server).")
]
PageAfter = Annotated[
    str | None, strawberry.argument(description="The `endCursor` of the page before: the page starts after it.")
]


@dataclasses.dataclass(frozen=True)
class Keyset:
    """The order of a list, which its cursors follow: the list's name (a cursor of another list is refused) and
    the model fields it is sorted by, each text or a whole number, the last one unique (a leading `-` sorts
    descending). A cursor holds the values of the row it follows, not a position: rows inserted or deleted
    before it do not move the next page."""

    name: str
    fields: tuple[str, ...]

    def order(self) -> tuple[str, ...]:
        return self.fields

    def since(self, updated_since: dt.datetime | None) -> Keyset:
        """This order over the rows changed since a time (`updatedSince`): a list of its own, whose cursors name
        the time, so a cursor of the whole list or of another time is refused."""
        if updated_since is None:
            return self
        return dataclasses.replace(self, name=f"{self.name}@{updated_since.isoformat()}")

    def cursor(self, row: Any) -> str:
        return self.cursor_of([getattr(row, field.lstrip("-")) for field in self.fields])

    def cursor_of(self, values: Sequence[Any]) -> str:
        """The cursor of the row whose sort values are `values`, in the order of `fields`."""
        return base64.b64encode(json.dumps([self.name, list(values)], ensure_ascii=False).encode()).decode()

    def values(self, cursor: str) -> list[Any]:
        """The sort values a cursor of this list holds; BAD_USER_INPUT for a cursor this list did not issue."""
        try:
            name, values = json.loads(base64.b64decode(cursor.encode("ascii"), validate=True).decode())
            if name != self.name or not isinstance(values, list) or len(values) != len(self.fields):
                raise ValueError
            for value in values:
                # Only values this server could have issued: text, or a number a column holds.
                if isinstance(value, bool) or not isinstance(value, str | int):
                    raise ValueError
                if isinstance(value, int) and not -MAX_KEY <= value <= MAX_KEY:
                    raise ValueError
        except (binascii.Error, UnicodeError, ValueError, TypeError):
            raise BadUserInput("CURSOR_MALFORMED") from None
        return values

    def follows(self, key: Sequence[Any], values: Sequence[Any]) -> bool:
        """Whether the row whose sort values are `key` comes after the cursor's `values`, for a list sorted in
        memory in this order (each value compared as Python compares it, as the list was sorted); BAD_USER_INPUT
        for a cursor whose values are not of the kinds this list sorts by (text where a number is, or the reverse),
        which this server never issued."""
        for field, mine, theirs in zip(self.fields, key, values):
            if type(mine) is not type(theirs):
                raise BadUserInput("CURSOR_MALFORMED")
            if mine != theirs:
                return mine < theirs if field.startswith("-") else mine > theirs
        return False

    def after(self, cursor: str) -> Q:
        """The rows that come after the cursor's, as one filter; BAD_USER_INPUT for a cursor this list did not
        issue."""
        values = self.values(cursor)
        later_rows = Q()
        for index, field in enumerate(self.fields):
            column = field.lstrip("-")
            equal = {other.lstrip("-"): values[i] for i, other in enumerate(self.fields[:index])}
            beyond = {f"{column}__{'lt' if field.startswith('-') else 'gt'}": values[index]}
            later_rows = later_rows | Q(**equal, **beyond) if index else Q(**beyond)
        return later_rows


@strawberry.type(description="A page of a list, and how many rows the whole list holds.")
class Connection(relay.ListConnection[relay.NodeType], Generic[relay.NodeType]):
    # The whole list's QuerySet (counted when `totalCount` is asked), or its count when the list was read whole.
    whole_list: strawberry.Private[Any] = None

    @strawberry.field(description="The rows of this page, in order: the nodes of `edges`, without their cursors.")
    def nodes(self) -> list[relay.NodeType]:
        return [edge.node for edge in self.edges]

    @strawberry.field(
        description="How many rows the whole list holds, every page together (at most one statement, when asked)."
    )
    async def total_count(self) -> int:
        if isinstance(self.whole_list, int):
            return self.whole_list
        return await self.whole_list.count()


def page_of_sorted(
    keyed: Sequence[tuple[Sequence[Any], T]], keyset: Keyset, *, limit: int, after: str | None
) -> tuple[list[tuple[Sequence[Any], T]], bool]:
    """The page of a list already sorted in the keyset's order, each row with its sort values: the rows after the
    cursor's (BAD_USER_INPUT for a cursor of another list), at most `limit`, and whether more follow."""
    start = 0
    if after is not None:
        values = keyset.values(after)
        while start < len(keyed) and not keyset.follows(keyed[start][0], values):
            start += 1
    page = list(keyed[start : start + limit + 1])
    return page[:limit], len(page) > limit


def connection_of(
    page: Sequence[tuple[Sequence[Any], Any]], keyset: Keyset, *, has_next: bool, after: str | None, total: int
) -> Connection:
    """A connection over a page built in memory (`page_of_sorted`), the whole list's count known."""
    edges = [relay.Edge(node=node, cursor=keyset.cursor_of(key)) for key, node in page]
    return _connection(edges, has_next=has_next, after=after, whole_list=total)


def _connection(edges: list[relay.Edge], *, has_next: bool, after: str | None, whole_list: Any) -> Connection:
    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        whole_list=whole_list,
    )


def node_selections(info: Any) -> dict[str, list[Selection]]:
    """The sub-fields asked of the rows of the connection being resolved, under `edges { node }` and under
    `nodes`, by schema name, fragments merged: what a connection may prefetch for the rows of its page."""
    return rows_asked(selections(info))


def rows_asked(asked: dict[str, list[Selection]]) -> dict[str, list[Selection]]:
    """The sub-fields asked of a connection's rows, from the sub-fields asked of the connection (`selections`)."""
    return sub_selections([*asked.get("nodes", []), *sub_selections(asked.get("edges", [])).get("node", [])])


def arguments_asked(info: Any, name: str) -> list[dict[str, Any]]:
    """The arguments of each selection of the sub-field `name` of the field being resolved (fragments merged):
    a list prefetching a connection for its rows pages it as each of them asks, when they all ask the same."""
    found: list[dict[str, Any]] = []

    def visit(selected: list[Selection]) -> None:
        for item in selected:
            if isinstance(item, SelectedField):
                if item.name == name:
                    found.append(item.arguments)
            else:
                visit(item.selections)

    for field in info.selected_fields:
        visit(field.selections)
    return found


async def paginate(queryset, convert, *, first: int | None, after: str | None, keyset: Keyset) -> Connection:
    """A relay connection over a scoped QuerySet, in the keyset's order: one statement for the page, one more for
    `totalCount` when it is asked."""

    async def build(rows: list[Any]) -> list[Any]:
        return [convert(row) for row in rows]

    return await paginate_built(queryset, build, first=first, after=after, keyset=keyset)


async def paginate_built(
    queryset, build: Callable[[list[Any]], Any], *, first: int | None, after: str | None, keyset: Keyset
) -> Connection:
    """As `paginate`, the page's rows built together (`build`: a coroutine answering the nodes of the rows, in
    their order), so a page costs the statements of one batch whatever its length."""
    limit = check_page(first)
    page = queryset.order_by(*keyset.order())
    if after is not None:
        page = page.filter(keyset.after(after))
    rows = await page.limit(limit + 1)
    has_next = len(rows) > limit
    rows = rows[:limit]
    nodes = await build(rows)
    edges = [relay.Edge(node=node, cursor=keyset.cursor(row)) for row, node in zip(rows, nodes, strict=True)]
    return _connection(edges, has_next=has_next, after=after, whole_list=queryset)


# The attribute of an object whose answers may be shared (`share_answers`; graph/execution.py reads it).
SHARED_ANSWERS = "_pfmp_shared_answers"


def share_answers(value: Any) -> Any:
    """Marks an object that is shared by every request and never changed once made (a kept framework structure's
    objects: graph/types/bilans.py), so that its answer to a sub-selection made of context-free fields is computed
    once and reused. Returns the object."""
    setattr(value, SHARED_ANSWERS, {})
    return value
