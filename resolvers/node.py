"""`node(id:)`: refetch any object by its opaque ID, within the viewer's reach.

The Node types and the scopes that bound them are registered in one place,
`graph/nodes.py`, so `node` can never answer a row a list would not have shown
(the classic bypass).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry
from strawberry import relay

from graph.context import Info
from graph.errors import BadUserInput
from graph.nodes import NODE_TYPES
from graph.types.common import decode_id


async def resolve_node(info: Info, global_id: str) -> Any | None:
    viewer = info.context.require_viewer()
    type_name, pk = decode_id(global_id)
    entry = NODE_TYPES.get(type_name)
    if entry is None:
        return None
    row = await info.context.loaders.by_id(entry.model, entry.scope, extra=entry.extra).load(pk)
    return entry.convert(row, viewer) if row is not None else None


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its opaque ID; null when it does not exist or is out of your reach.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global ID, as any `id` field answers it.")],
    ) -> relay.Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        description="Several objects by their opaque IDs, in the same order; null for each one out of reach."
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description="Global IDs; the answer keeps their order, null for each one out of reach."
            ),
        ],
    ) -> list[relay.Node | None]:
        if len(ids) > 100:
            raise BadUserInput("TOO_MANY_IDS", max=100)
        return list(await asyncio.gather(*(resolve_node(info, i) for i in ids)))
