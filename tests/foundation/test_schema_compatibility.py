"""The committed schema breaks no client of the latest release (the newest `v*` tag): every change graphql-core's
`find_breaking_changes` reports must touch an element the released schema had already marked `@deprecated` (a
field, an argument, an input field or an enum value), or a type only such elements led to. A client that heeded the
deprecations of the release keeps working."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from graphql import (
    BreakingChange,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    find_breaking_changes,
    get_named_type,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "graph/schema.graphql"

# The element each kind of breaking change names, in graphql-core's words.
_FIELD = re.compile(r"^Field (\w+)\.(\w+) (?:was removed|changed type)")
_ARGUMENT = re.compile(r"^Argument (\w+)\.(\w+)\((\w+):\) (?:was removed|has changed type)")
_ENUM_VALUE = re.compile(r"^Enum value (\w+)\.(\w+) was removed")
_TYPE = re.compile(r"^(\w+) (?:was removed|changed from)")


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def _usable_types(schema: GraphQLSchema) -> set[str]:
    """The types a client reaches from the root types through elements that are not deprecated."""
    roots = [t for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t is not None]
    seen: set[str] = set()
    waiting: list[GraphQLNamedType] = list(roots)
    while waiting:
        kind = waiting.pop()
        if kind.name in seen:
            continue
        seen.add(kind.name)
        found: list = []
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            for field in kind.fields.values():
                if field.deprecation_reason is None:
                    found.append(field.type)
                    found += [arg.type for arg in field.args.values() if arg.deprecation_reason is None]
            found += kind.interfaces
        elif isinstance(kind, GraphQLInputObjectType):
            found += [f.type for f in kind.fields.values() if f.deprecation_reason is None]
        elif isinstance(kind, GraphQLUnionType):
            found += kind.types
        waiting += [get_named_type(t) for t in found]
    if roots:  # the implementations of a usable interface are usable through it
        for kind in schema.type_map.values():
            if isinstance(kind, GraphQLObjectType) and any(i.name in seen for i in kind.interfaces):
                seen.add(kind.name)
    return seen


def _deprecated_before(old: GraphQLSchema, change: BreakingChange, usable: set[str]) -> bool:
    """Whether the released schema deprecated the element the change touches (or only deprecated ones led to it)."""
    text = change.description
    if found := _ARGUMENT.match(text):
        type_name, field_name, arg_name = found.groups()
        kind = old.type_map.get(type_name)
        if type_name not in usable:
            return True
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType) and field_name in kind.fields:
            field = kind.fields[field_name]
            return field.deprecation_reason is not None or (
                arg_name in field.args and field.args[arg_name].deprecation_reason is not None
            )
        return False
    if found := _FIELD.match(text):
        type_name, field_name = found.groups()
        kind = old.type_map.get(type_name)
        if type_name not in usable:
            return True
        fields = getattr(kind, "fields", {})
        return field_name in fields and fields[field_name].deprecation_reason is not None
    if found := _ENUM_VALUE.match(text):
        type_name, value = found.groups()
        kind = old.type_map.get(type_name)
        if type_name not in usable:
            return True
        return isinstance(kind, GraphQLEnumType) and kind.values[value].deprecation_reason is not None
    if found := _TYPE.match(text):
        return found.group(1) not in usable
    return False  # an addition (a required argument or input field) or a directive's change: nothing to deprecate


def undeprecated_breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    """The breaking changes from `old_sdl` to `new_sdl` that the old schema did not announce by a deprecation."""
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    usable = _usable_types(old)
    return [c.description for c in find_breaking_changes(old, new) if not _deprecated_before(old, c, usable)]


def test_the_schema_breaks_nothing_the_latest_release_did_not_deprecate():
    tag = _git("describe", "--tags", "--abbrev=0", "--match", "v*")
    if tag.returncode != 0:
        pytest.skip("no v* release tag in this clone (e.g. a shallow or tagless checkout): nothing to compare with")
    release = tag.stdout.strip()
    released = _git("show", f"{release}:{SCHEMA}")
    if released.returncode != 0:
        pytest.skip(f"release {release} has no {SCHEMA}")
    committed = (ROOT / SCHEMA).read_text(encoding="utf-8")
    assert undeprecated_breaking_changes(released.stdout, committed) == [], (
        f"breaking changes since {release} without a @deprecated in that release"
    )


OLD = """
type Query {
  level(id: ID!): Level
  levels(first: Int, order: Order): [Level!]! @deprecated(reason: "Use level.")
  count: Int
}
type Level { name: String! position: Int @deprecated(reason: "Gone.") kind: Kind }
enum Kind { CAP BAC OLD @deprecated(reason: "Gone.") }
enum Order { NAME POSITION }
"""


def test_a_removal_without_a_deprecation_is_refused():
    new = OLD.replace("  count: Int\n", "").replace("CAP BAC", "CAP")
    assert undeprecated_breaking_changes(OLD, new) == [
        "Field Query.count was removed.",
        "Enum value Kind.BAC was removed.",
    ]


def test_a_removal_deprecated_in_the_release_is_allowed():
    # the deprecated field, with its arguments and the enum only it used; a deprecated field and enum value
    new = (
        OLD.replace('  levels(first: Int, order: Order): [Level!]! @deprecated(reason: "Use level.")\n', "")
        .replace("enum Order { NAME POSITION }\n", "")
        .replace(' position: Int @deprecated(reason: "Gone.")', "")
        .replace(' OLD @deprecated(reason: "Gone.")', "")
    )
    assert undeprecated_breaking_changes(OLD, new) == []
    # a new required argument has nothing to be deprecated
    assert undeprecated_breaking_changes(OLD, OLD.replace("level(id: ID!)", "level(id: ID!, school: ID!)")) == [
        "A required argument Query.level(school:) was added."
    ]
