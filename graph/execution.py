"""How the schema's fields are executed: fields whose answer needs none of Strawberry's machinery answer
without it.

Strawberry wraps every resolver (an Info object, its arguments, the extension chain) and graphql-core builds a
resolve info, looks for middleware and awaits or completes each value in turn: for the hundreds to thousands of
fields of a list (a period's portfolios, a level's dashboard, a MELEC visit screen), that per-field machinery is
most of a read's CPU. Once the schema is built, `answer_fields_directly` gives the fields that need none of it a
resolver of their own and a plain getter; `DirectExecutionContext` answers a leaf field (a scalar, an enum or a
list of them) straight from its getter. Every answer is the same as Strawberry's and graphql-core's: a getter
that cannot answer (a slot nobody filled, an object of another type, null where the schema says non-null, a
value that does not coerce) hands the field to the general path, which answers or reports it as before.
"""

from __future__ import annotations

import base64
import operator
import weakref
from collections.abc import Callable
from enum import Enum
from typing import Any

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
)
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.types.common import GUARD, MISSING, PREFETCHED, SHARED_ANSWERS, Guard
from permissions.table import PERSONAL_READS

# The key, in a graphql-core field's extensions, of its plain getter: (getter, coerce, non-null, list item
# coerce or None, list items non-null). A getter takes the object and the request's context and returns
# `GENERAL` when the field must go through the general path.
PLAIN = "pfmp.plain"
# The key of an object field's plain getter: (getter, non-null, is a list, list items non-null, object type).
OBJECT = "pfmp.object"
GENERAL: Any = object()
# Compiled sub-selections kept per field node (the parser's cache keeps a document's nodes for as long).
PLANS_KEPT = 4096
# How many sub-selections' answers an object marked by `share_answers` keeps.
SHARED_ANSWERS_KEPT = 16

# Getters and compiled sub-selections whose answer depends on the object alone: neither on the request's viewer
# (a guard) nor noted in its audit trail (a personal read).
_context_free: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


class DirectExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Answers the leaf fields that have a plain getter without building their resolve info, asking for
    middleware or dispatching their completion; every other field, and any the getter cannot answer, as
    graphql-core does."""

    def execute_field(self, parent_type, source, field_details_list, path, position_context):  # type: ignore[override]
        node = field_details_list[0].node
        field_def = parent_type.fields.get(node.name.value)
        extensions = field_def.extensions if field_def is not None else None
        if extensions and not node.arguments and not (self.middleware_manager and self.middleware_manager.middlewares):
            plain = extensions.get(PLAIN)
            if plain is not None:
                answered = _answer(plain, source, self.context_value)
                if answered is not GENERAL:
                    return answered
            elif OBJECT in extensions and len(field_details_list) == 1 and field_details_list[0].defer_usage is None:
                plan = _plan_for(node, extensions[OBJECT])
                if plan is not None:
                    try:
                        return plan(source, self.context_value)
                    except _HandOn:
                        pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


class _HandOn(Exception):
    """A value of a sub-selection the plain getters cannot answer: the field goes through the general path."""


_plans: dict[int, tuple[Any, Callable[[Any, Any], Any] | None]] = {}


def _plan_for(node: FieldNode, entry: tuple) -> Callable[[Any, Any], Any] | None:
    """The compiled answer of an object field's sub-selection, or None when it is not made of plain fields."""
    kept = _plans.get(id(node))
    if kept is not None and kept[0] is node:
        return kept[1]
    plan = _object_field(entry, node.selection_set)
    if len(_plans) >= PLANS_KEPT:
        _plans.clear()
    _plans[id(node)] = (node, plan)  # the node is held, so its id is not reused while the plan is kept
    return plan


def _selection(object_type: GraphQLObjectType, selection_set: Any) -> Callable[[Any, Any], dict] | None:
    """A function answering `selection_set` on an object of `object_type` as graphql-core would (the response
    keys in order), when every selection is a field without arguments, directives or fragments that has a
    plain getter: a leaf, `__typename`, or an object field whose own sub-selection is such."""
    if selection_set is None:
        return None
    parts: list[tuple[str, str, Any]] = []
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.arguments or selection.directives:
            return None
        key = selection.alias.value if selection.alias else selection.name.value
        if any(key == other for other, _, _ in parts):
            return None  # fields merged under one key: graphql-core merges their sub-selections
        name = selection.name.value
        if name == "__typename":
            parts.append((key, "typename", object_type.name))
            continue
        field_def = object_type.fields.get(name)
        extensions = field_def.extensions if field_def is not None else None
        if not extensions:
            return None
        if PLAIN in extensions and selection.selection_set is None:
            parts.append((key, "leaf", extensions[PLAIN]))
        elif OBJECT in extensions:
            child = _object_field(extensions[OBJECT], selection.selection_set)
            if child is None:
                return None
            parts.append((key, "object", child))
        else:
            return None

    pure = all(
        kind == "typename"
        or (kind == "leaf" and how[0] in _context_free)
        or (kind == "object" and how in _context_free)
        for _, kind, how in parts
    )

    def answer(source: Any, context: Any) -> dict:
        found = {}
        for key, kind, how in parts:
            if kind == "leaf":
                value = _answer(how, source, context)
                if value is GENERAL:
                    raise _HandOn
            elif kind == "object":
                value = how(source, context)
            else:
                value = how
            found[key] = value
        return found

    if pure:
        _context_free.add(answer)
    return answer


def _object_field(entry: tuple, selection_set: Any) -> Callable[[Any, Any], Any] | None:
    """A function answering an object (or list of objects) field and its sub-selection from plain getters."""
    getter, non_null, is_list, items_non_null, object_type = entry
    answer = _selection(object_type, selection_set)
    if answer is None:
        return None
    is_type_of = object_type.is_type_of
    origin = getattr((object_type.extensions or {}).get("strawberry-definition"), "origin", None)
    shareable = answer in _context_free

    def one(value: Any, context: Any) -> Any:
        # As graphql-core's completion checks it (Strawberry's checks ignore the resolve info); an object of the
        # type's own class is one of its type.
        if is_type_of is not None and type(value) is not origin and not is_type_of(value, None):
            raise _HandOn
        if shareable:
            kept = getattr(value, SHARED_ANSWERS, None)
            if kept is not None:
                # keyed by the compiled sub-selection itself (held, so never mistaken for a later one)
                found = kept.get(answer)
                if found is None:
                    found = answer(value, context)
                    if len(kept) < SHARED_ANSWERS_KEPT:
                        kept[answer] = found
                return found
        return answer(value, context)

    def get(source: Any, context: Any) -> Any:
        try:
            value = getter(source, context)
        except Exception:  # the general path reports it where it belongs in the response
            raise _HandOn from None
        if value is GENERAL:
            raise _HandOn
        if value is None:
            if non_null:
                raise _HandOn
            return None
        if not is_list:
            return one(value, context)
        if not isinstance(value, list | tuple):
            raise _HandOn
        found = []
        for item in value:
            if item is None:
                if items_non_null:
                    raise _HandOn
                found.append(None)
            else:
                found.append(one(item, context))
        return found

    if shareable and getter in _context_free:
        _context_free.add(get)
    return get


def _answer(plain: tuple, source: Any, context: Any) -> Any:
    getter, coerce, non_null, item_coerce, items_non_null = plain
    try:
        value = getter(source, context)
        if value is GENERAL:
            return GENERAL
        if value is None:
            return GENERAL if non_null else None
        if item_coerce is None:
            coerced = coerce(value)
            return GENERAL if coerced is None or coerced is Undefined else coerced
        if not isinstance(value, list | tuple):
            return GENERAL
        found = []
        for item in value:
            if item is None:
                if items_non_null:
                    return GENERAL
                found.append(None)
                continue
            coerced = item_coerce(item)
            if coerced is None or coerced is Undefined:
                return GENERAL
            found.append(coerced)
        return found
    except Exception:  # the general path answers it, or reports it where it belongs in the response
        return GENERAL


def answer_fields_directly(graphql_schema: Any) -> int:
    """Gives the fields of the built schema whose answer needs no Strawberry machinery a graphql-core resolver
    of their own (and, for leaf fields, a plain getter for `DirectExecutionContext`), and returns how many:

    - each `@prefetched` field answers a filled slot itself and hands anything else to Strawberry's resolver
      (a guarded field's guard asked first, as its Strawberry resolver asks it);
    - each relay `id` of a type that keeps `Node`'s own `resolve_id` and `resolve_typename` answers the global
      ID from the object's id attribute and the type's name, as `Node._id` does;
    - each synchronous resolver taking only `self` (no argument, no extension, no guard) is called with the
      object, and each plain attribute is read with `getattr`, as Strawberry's default resolver reads it;
    - each enum answers its name from a dictionary of its members, where Strawberry compares the value with
      each member's in turn.
    """
    count = 0
    audited: set[tuple[str, str]] = set()
    for graphql_type in graphql_schema.type_map.values():
        if isinstance(graphql_type, GraphQLEnumType) and isinstance(getattr(graphql_type, "wrapped_cls", None), type):
            graphql_type.coerce_output_value = _enum_names(graphql_type)  # type: ignore[method-assign,assignment]
            count += 1
    for graphql_type in graphql_schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        origin = getattr((graphql_type.extensions or {}).get("strawberry-definition"), "origin", None)
        for field_name, graphql_field in graphql_type.fields.items():
            field = (graphql_field.extensions or {}).get("strawberry-definition")
            if field is None or field.arguments or field.extensions:
                continue
            resolver = field.base_resolver
            getter: Callable[[Any, Any], Any]
            guard = field.metadata.get(GUARD) if resolver is None else None
            if resolver is None:
                if field.permission_classes or field.default_resolver is not getattr:
                    continue
                if guard is not None and guard.rule_key in PERSONAL_READS:
                    getter = _audited_getter(field.python_name, graphql_type.name, field_name, guard)
                    audited.add((graphql_type.name, field_name))
                else:
                    getter = _attribute_getter(field.python_name)
                graphql_field.resolve = _resolver(getter)
                # What Strawberry's tracing extensions look for on a default resolver.
                graphql_field.resolve._is_default = True  # type: ignore[attr-defined]
            else:
                function = resolver.wrapped_func
                marks = getattr(function, "__dict__", {})
                if PREFETCHED in marks:
                    # The guard first, as `_enforced` asks it; a slot left empty goes through Strawberry's
                    # resolver, whose own guard asks it there.
                    getter = _slot_getter(marks[PREFETCHED], marks.get(GUARD))
                    graphql_field.resolve = _resolver(getter, graphql_field.resolve)
                elif field.python_name == "_id" and _keeps_node_ids(origin):
                    getter = _global_id_getter(graphql_type.name, origin)  # type: ignore[arg-type]
                    graphql_field.resolve = _resolver(getter, graphql_field.resolve)
                elif GUARD not in marks and not resolver.is_async and _takes_only_self(resolver):
                    getter = _method_getter(function)
                    graphql_field.resolve = _resolver(getter)
                else:
                    continue
            plain = _plain(getter, graphql_field.type)
            if plain is not None:
                graphql_field.extensions = {**(graphql_field.extensions or {}), PLAIN: plain}
            else:
                entry = _object_entry(getter, graphql_field.type)
                if entry is not None:
                    graphql_field.extensions = {**(graphql_field.extensions or {}), OBJECT: entry}
            count += 1
    _check_every_personal_field_audited(graphql_schema, audited)
    return count


def _check_every_personal_field_audited(graphql_schema: Any, audited: set[tuple[str, str]]) -> None:
    """Every field guarded by a personal rule answers through a getter that traces it (models/audit.py): a field
    that would answer without (an argument, an extension, its own resolver) stops the server from starting."""
    for graphql_type in graphql_schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for name, graphql_field in graphql_type.fields.items():
            field = (graphql_field.extensions or {}).get("strawberry-definition")
            guard = field.metadata.get(GUARD) if field is not None else None
            if guard is not None and guard.rule_key in PERSONAL_READS and (graphql_type.name, name) not in audited:
                raise TypeError(f"{graphql_type.name}.{name} is personal but its reads would not be traced")


def _audited_getter(name: str, type_name: str, field_name: str, guard: Guard) -> Callable[[Any, Any], Any]:
    """A personal data field (nulled for a refused viewer when its object was built): a value answered is noted
    in the request's audit trail, unless the row is the viewer's own."""
    read = operator.attrgetter(name)

    def get(source: Any, context: Any) -> Any:
        value = read(source)
        if value is not None:
            viewer = context.viewer
            context.personal_read(
                type_name, source, field_name, viewer is not None and bool(guard.owned(source, viewer))
            )
        return value

    return get


def _plain(getter: Callable[[Any, Any], Any], field_type: Any) -> tuple | None:
    """The getter and how to coerce its value, for a field whose type is a scalar, an enum or a list of them."""
    non_null = isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if non_null else field_type
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return (getter, _coercion(inner), non_null, None, False)
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        items_non_null = isinstance(item, GraphQLNonNull)
        item = item.of_type if items_non_null else item
        if isinstance(item, GraphQLScalarType | GraphQLEnumType):
            return (getter, None, non_null, _coercion(item), items_non_null)
    return None


def _coercion(leaf_type: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The type's output coercion, with a shortcut for the value that is already what it answers: a `str` for
    String and ID, a `bool` for Boolean (graphql-core's serializers try every other kind of value first)."""
    coerce = leaf_type.coerce_output_value
    kinds: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}
    kind = kinds.get(leaf_type)
    if kind is None:
        return coerce

    def coerce_output_value(value: Any) -> Any:
        return value if type(value) is kind else coerce(value)

    return coerce_output_value


def _object_entry(getter: Callable[[Any, Any], Any], field_type: Any) -> tuple | None:
    """The getter and the shape of a field whose type is an object type or a list of one (not an interface nor
    a union, whose concrete type only the general path resolves)."""
    non_null = isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if non_null else field_type
    is_list = isinstance(inner, GraphQLList)
    items_non_null = False
    if is_list:
        inner = inner.of_type
        items_non_null = isinstance(inner, GraphQLNonNull)
        inner = inner.of_type if items_non_null else inner
    if not isinstance(inner, GraphQLObjectType):
        return None
    return (getter, non_null, is_list, items_non_null, inner)


def _keeps_node_ids(origin: Any) -> bool:
    return (
        isinstance(origin, type)
        and issubclass(origin, relay.Node)
        and origin.resolve_id.__func__ is relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
        and origin.resolve_typename.__func__ is relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
    )


def _global_id_getter(type_name: str, origin: type) -> Callable[[Any, Any], Any]:
    attribute = origin.resolve_id_attr()  # type: ignore[attr-defined]
    prefix = f"{type_name}:"

    def get(source: Any, context: Any) -> Any:
        if not isinstance(source, origin):
            return GENERAL
        return base64.b64encode(f"{prefix}{getattr(source, attribute)}".encode()).decode()

    _context_free.add(get)
    return get


def _enum_names(graphql_type: GraphQLEnumType) -> Callable[[Any], Any]:
    names = {value.value: name for name, value in graphql_type.values.items()}
    members = {member: names[member.value] for member in graphql_type.wrapped_cls if member.value in names}  # type: ignore[attr-defined]
    coerce = graphql_type.coerce_output_value

    def coerce_output_value(output_value: Any) -> Any:
        name = members.get(output_value) if isinstance(output_value, Enum) else None
        return name if name is not None else coerce(output_value)

    return coerce_output_value


def _attribute_getter(name: str) -> Callable[[Any, Any], Any]:
    read = operator.attrgetter(name)

    def get(source: Any, context: Any) -> Any:
        return read(source)

    _context_free.add(get)
    return get


def _takes_only_self(resolver: Any) -> bool:
    return [p.name for p in resolver.signature.parameters.values()] == ["self"]


def _method_getter(function: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    def get(source: Any, context: Any) -> Any:
        return function(source)

    return get


def _slot_getter(slot: str, guard: Guard | None) -> Callable[[Any, Any], Any]:
    def get(source: Any, context: Any) -> Any:
        value = getattr(source, slot, MISSING)
        if value is MISSING:
            return GENERAL
        if guard is None:
            return value
        # A guard refusing with a top-level error raises here: the general path raises it where it belongs.
        return value if guard.check(context, source) else None

    return get


def _resolver(
    getter: Callable[[Any, Any], Any], strawberry_resolve: Callable[..., Any] | None = None
) -> Callable[..., Any]:
    """The field's graphql-core resolver, for the general path: its getter's answer, or, when the getter hands
    the field on (`GENERAL`), Strawberry's resolver's."""
    if strawberry_resolve is None:

        def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
            return getter(source, info.context)

        return resolve

    def resolve_or_hand_on(source: Any, info: Any, **kwargs: Any) -> Any:
        value = getter(source, info.context)
        return strawberry_resolve(source, info, **kwargs) if value is GENERAL else value

    return resolve_or_hand_on
