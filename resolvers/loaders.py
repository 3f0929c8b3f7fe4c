"""DataLoaders, fresh per request, always filtered by the viewer's row reach.

`by_id` loads rows of one model by primary key; `by_parent` loads the children
of many parents at once. Both take the scope (a function of permissions.scopes)
so no loader can hand out a row the viewer does not reach; pass `scope=None`
only for reference data every signed-in role reads (framework contents).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.models import Model

from permissions.viewer import Viewer

Scope = Callable[[Viewer], Q] | None

MAX_BATCH = 500


class Loaders:
    def __init__(self, viewer: Viewer | None):
        self.viewer = viewer
        self._loaders: dict[tuple, DataLoader] = {}

    def _filter(self, scope: Scope) -> Q:
        if scope is None:
            return Q()
        if self.viewer is None:
            return Q(id__in=[])
        return scope(self.viewer)

    def by_id(self, model: type[Model], scope: Scope, *, extra: Q | None = None) -> DataLoader[int, Any]:
        key = ("id", model, scope, repr(extra))
        loader = self._loaders.get(key)
        if loader is None:
            condition = self._filter(scope) & (extra or Q())

            async def load(ids: Sequence[int]) -> list[Any]:
                rows = await model.filter(condition, id__in=list(ids))
                found = {row.pk: row for row in rows}
                return [found.get(i) for i in ids]

            loader = self._loaders[key] = DataLoader(load_fn=load, max_batch_size=MAX_BATCH)
        return loader

    def by_parent(
        self,
        model: type[Model],
        parent_field: str,
        scope: Scope,
        *,
        order_by: Sequence[str] = ("id",),
        extra: Q | None = None,
    ) -> DataLoader[int, list[Any]]:
        key = ("parent", model, parent_field, scope, tuple(order_by), repr(extra))
        loader = self._loaders.get(key)
        if loader is None:
            condition = self._filter(scope) & (extra or Q())

            async def load(parent_ids: Sequence[int]) -> list[list[Any]]:
                rows = await model.filter(condition, **{f"{parent_field}__in": list(parent_ids)}).order_by(*order_by)
                grouped: dict[int, list[Any]] = defaultdict(list)
                for row in rows:
                    grouped[getattr(row, parent_field)].append(row)
                return [grouped.get(p, []) for p in parent_ids]

            loader = self._loaders[key] = DataLoader(load_fn=load, max_batch_size=MAX_BATCH)
        return loader

    def custom(self, key: tuple, load_fn) -> DataLoader:
        """A loader of a domain's own (e.g. counts); cached for the request like the others."""
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = DataLoader(load_fn=load_fn, max_batch_size=MAX_BATCH)
        return loader
