"""Fields answered without Strawberry's machinery (graph/execution.py) answer exactly what Strawberry and
graphql-core answer, errors included, and a list's leaves cost no resolve info each.

A schema of its own, built twice from the same types: once as Strawberry builds it, once with
`answer_fields_directly` and `DirectExecutionContext`, as graph/schema.py builds the product's."""

from __future__ import annotations

import enum

import pytest
import strawberry
from strawberry import relay
from strawberry.extensions import ParserCache

from graph.execution import DirectExecutionContext, answer_fields_directly
from graph.types.common import MISSING, prefetched, share_answers


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
    # a row holding a number where the schema says String: coerced to its text, as graphql-core does
    code: str
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
            code=i,  # type: ignore[arg-type]
        )
        if i % 3:
            item.slot = i * 10
        items.append(item)
    return items


@strawberry.type
class Shelf:
    label: str
    item: Item
    items: list[Item]
    maybe_item: Item | None
    # a wrong row on some shelves: null where the schema says non-null
    required_item: Item


def _shelves(n: int) -> list[Shelf]:
    items = _items(max(n, 3))
    return [
        Shelf(
            label=f"s{i}",
            item=items[i % len(items)],
            items=items[:3],
            maybe_item=None if i % 2 else items[0],
            required_item=None if i == 1 else items[0],  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


@strawberry.type
class Rack:
    shelf: Shelf


# Objects kept from one request to the next, as a kept framework structure's are (graph/types/bilans.py): the first
# marked as shared, the second not.
KEPT = _items(2)
share_answers(KEPT[0])


@strawberry.type
class Query:
    @strawberry.field
    def rack(self) -> Rack:
        return Rack(shelf=_shelves(1)[0])

    @strawberry.field
    def items(self, n: int) -> list[Item | None]:
        return _items(n)  # type: ignore[return-value]

    @strawberry.field
    def shelves(self, n: int) -> list[Shelf]:
        return _shelves(n)

    @strawberry.field
    def kept(self) -> Shelf:
        return Shelf(label="kept", item=KEPT[0], items=KEPT, maybe_item=None, required_item=KEPT[1])


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


QUERY = """query($n: Int!) { items(n: $n) { id name code colour colours maybe required shout count
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


SHELVES = """query($n: Int!, $yes: Boolean!) { shelves(n: $n) {
  __typename label
  item { id name code colour colours maybe shout count __typename }
  items { name renamed: colour }
  maybeItem { name }
  merged: item { name } merged: item { id }
  fragment: item { ... on Item { name } }
  directive: item { name @include(if: $yes) id }
} }"""


@pytest.mark.parametrize("yes", [True, False])
async def test_object_fields_answered_from_getters_are_strawberrys(yes):
    plain, direct = _schemas()
    expected = await plain.execute(SHELVES, variable_values={"n": 4, "yes": yes})
    found = await direct.execute(SHELVES, variable_values={"n": 4, "yes": yes})
    assert found.data == expected.data
    assert not expected.errors
    first = found.data["shelves"][0]
    assert first["item"] == {
        "id": first["item"]["id"],
        "name": "n1",
        "code": "1",
        "colour": "RED",
        "colours": ["GREEN", "RED"],
        "maybe": None,
        "shout": "N1",
        "count": 10,
        "__typename": "Item",
    }
    assert first["items"][1] == {"name": "n2", "renamed": "GREEN"}
    assert first["merged"] == {"name": "n1", "id": first["item"]["id"]}
    assert found.data["shelves"][1]["maybeItem"] is None and first["maybeItem"] == {"name": "n1"}
    assert ("name" in first["directive"]) is yes


async def test_a_key_selected_twice_inside_an_object_field_is_merged():
    plain, direct = _schemas()
    query = "{ rack { shelf { item { name } item { id } again: items { name } again: items { colour } } } }"
    expected, found = await plain.execute(query), await direct.execute(query)
    assert not expected.errors and found.data == expected.data
    assert set(found.data["rack"]["shelf"]["item"]) == {"name", "id"}
    assert found.data["rack"]["shelf"]["again"][0] == {"name": "n1", "colour": "RED"}


async def test_a_null_or_an_error_inside_an_object_field_is_reported_as_graphql_core_does():
    plain, direct = _schemas()
    for query in (
        "{ shelves(n: 3) { label requiredItem { name } } }",  # a null non-null object: the shelf is nulled
        "{ shelves(n: 2) { label items { name required } } }",  # a null non-null leaf deep in a list
        "{ shelves(n: 2) { label item { name broken } } }",  # a resolver raising inside the object
        "{ shelves(n: 2) { item { count } } }",  # an empty slot: through the field's resolver
    ):
        expected, found = await plain.execute(query), await direct.execute(query)
        assert found.data == expected.data, query
        assert [(e.message, e.path) for e in found.errors or []] == [
            (e.message, e.path) for e in expected.errors or []
        ], query
    assert expected.data == {"shelves": [{"item": {"count": 10}}, {"item": {"count": 20}}]}


@pytest.mark.parametrize("n", [3, 30])
async def test_object_fields_of_plain_fields_build_no_resolve_info(n):
    _, direct = _schemas()
    CountingContext.infos = 0
    result = await direct.execute(
        "query($n: Int!) { shelves(n: $n) { label item { id name } items { name colour } maybeItem { name } } }",
        variable_values={"n": n},
    )
    assert not result.errors and len(result.data["shelves"]) == n
    # the root list field alone: every object below it is answered from plain getters
    assert CountingContext.infos == 1


async def test_a_shared_objects_answer_of_plain_attributes_is_made_once_and_nothing_else_is_shared():
    # with the parser's cache, as graph/schema.py has it: a document's compiled sub-selections live as long as it
    direct = strawberry.Schema(
        query=Query, execution_context_class=DirectExecutionContext, extensions=[lambda: ParserCache(maxsize=8)]
    )
    answer_fields_directly(direct._schema)

    async def data(query: str) -> dict:
        result = await direct.execute(query)
        assert result.data is not None and not result.errors, result.errors
        return result.data

    plain_fields = "{ kept { items { id name colour } } }"
    with_a_method = "{ kept { items { name shout } } }"
    with_a_slot = "{ kept { item { name count } } }"
    first = {query: await data(query) for query in (plain_fields, with_a_method, with_a_slot)}
    assert first[plain_fields]["kept"]["items"][0]["name"] == "n1"
    # the kept objects change (a shared one never does in the product: here to see what is reused)
    KEPT[0].name, KEPT[1].name, KEPT[0].slot = "renamed", "renamed too", 99
    try:
        again = {query: await data(query) for query in first}
        # the shared object's answer of attributes is the one made the first time; the other object's is made anew
        assert again[plain_fields]["kept"]["items"][0] == first[plain_fields]["kept"]["items"][0]
        assert again[plain_fields]["kept"]["items"][1]["name"] == "renamed too"
        # a sub-selection with a method or a guarded slot in it is answered every time, from the object as it is
        assert again[with_a_method]["kept"]["items"][0] == {"name": "renamed", "shout": "RENAMED"}
        assert again[with_a_slot]["kept"]["item"] == {"name": "renamed", "count": 99}
    finally:
        KEPT[0].name, KEPT[1].name, KEPT[0].slot = "n1", "n2", 10
