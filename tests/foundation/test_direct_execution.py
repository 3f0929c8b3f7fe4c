"""Fields answered without Strawberry's machinery (graph/execution.py) answer exactly what Strawberry and
graphql-core answer, errors included, and a list's leaves cost no resolve info each.

A schema of its own, built twice from the same types: once as Strawberry builds it, once with
`answer_fields_directly` and `DirectExecutionContext`, as graph/schema.py builds the product's."""

from __future__ import annotations

import enum

import pytest
import strawberry
from strawberry import relay

from graph.execution import DirectExecutionContext, answer_fields_directly
from graph.types.common import MISSING, prefetched


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Item(relay.Node):
    id: relay.NodeID[int]
    name: str
    colour: Colour
    colours: list[Colour]
    maybe: str | None
    required: str
    slot: strawberry.Private[object] = MISSING

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("no answer for this one")

    @strawberry.field
    @prefetched("slot")
    async def count(self, info: strawberry.Info) -> int:
        return -1  # what the loader would answer when no list filled the slot


def _items(n: int) -> list[Item]:
    items = []
    for i in range(1, n + 1):
        item = Item(
            id=i,
            name=f"n{i}",
            colour=Colour.RED if i % 2 else Colour.GREEN,
            colours=[Colour.GREEN, Colour.RED],
            maybe=None,
            # a wrong row: null where the schema says non-null, which must answer an error at its path
            required=None if i == 2 else "r",  # type: ignore[arg-type]
        )
        if i % 3:
            item.slot = i * 10
        items.append(item)
    return items


@strawberry.type
class Query:
    @strawberry.field
    def items(self, n: int) -> list[Item | None]:
        return _items(n)  # type: ignore[return-value]


class CountingContext(DirectExecutionContext):
    infos = 0

    def build_resolve_info(self, *args, **kwargs):
        CountingContext.infos += 1
        return super().build_resolve_info(*args, **kwargs)


def _schemas():
    plain = strawberry.Schema(query=Query)
    direct = strawberry.Schema(query=Query, execution_context_class=CountingContext)
    assert answer_fields_directly(direct._schema) > 0
    return plain, direct


QUERY = """query($n: Int!) { items(n: $n) { id name colour colours maybe required shout count
  again: name ... on Item { name } } }"""


async def test_the_direct_answers_and_errors_are_strawberrys():
    plain, direct = _schemas()
    expected = await plain.execute(QUERY, variable_values={"n": 4})
    found = await direct.execute(QUERY, variable_values={"n": 4})
    assert found.data == expected.data
    assert [(e.message, e.path) for e in found.errors or []] == [(e.message, e.path) for e in expected.errors or []]
    # the non-null violation is reported, and nulls its item, as graphql-core does
    assert expected.data["items"][1] is None and any(e.path == ["items", 1, "required"] for e in expected.errors)
    first = found.data["items"][0]
    assert first["colour"] == "RED" and first["colours"] == ["GREEN", "RED"] and first["shout"] == "N1"
    assert first["count"] == 10  # the filled slot; item 3's empty slot went through the resolver
    assert found.data["items"][2]["count"] == -1


async def test_a_resolver_that_raises_is_reported_at_its_path():
    plain, direct = _schemas()
    query = "{ items(n: 1) { name broken } }"
    expected, found = await plain.execute(query), await direct.execute(query)
    assert found.data == expected.data
    assert [(e.message, e.path) for e in found.errors] == [(e.message, e.path) for e in expected.errors]
    assert found.errors[0].message == "no answer for this one"


@pytest.mark.parametrize("n", [3, 30])
async def test_a_lists_leaves_build_no_resolve_info(n):
    _, direct = _schemas()
    CountingContext.infos = 0
    result = await direct.execute("query($n: Int!) { items(n: $n) { id name colour shout } }", variable_values={"n": n})
    assert not result.errors
    # the list field alone: its four leaves per item are answered from their getters
    assert CountingContext.infos == 1
