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


def filter_key(condition: Q | None) -> tuple:
    """A hashable key equal for equal conditions, so one loader serves every row of a request.

    A `Q` has neither `__eq__` nor a `__repr__` of its own: keyed by identity, each row built a fresh
    loader and sent its own statement (N+1).
    """
    if condition is None:
        return ()
    return (
        condition.join_type,
        condition._is_negated,
        tuple(sorted((name, _frozen(value)) for name, value in condition.filters.items())),
        tuple(filter_key(child) for child in condition.children),
    )


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, set | frozenset):
        return frozenset(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    # scalars compare by value; other objects (subqueries, expressions) by identity, which the key keeps alive
    hash(value)
    return value


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
        key = ("id", model, scope, filter_key(extra))
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
        key = self.parent_key(model, parent_field, scope, order_by=order_by, extra=extra)
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

    @staticmethod
    def parent_key(
        model: type[Model],
        parent_field: str,
        scope: Scope,
        *,
        order_by: Sequence[str] = ("id",),
        extra: Q | None = None,
    ) -> tuple:
        """The key under which `by_parent` caches the loader of these arguments."""
        return ("parent", model, parent_field, scope, tuple(order_by), filter_key(extra))

    def existing(self, key: tuple) -> DataLoader | None:
        """The loader this request already made under `key`, if any (to reuse rows it loads anyway)."""
        return self._loaders.get(key)

    def custom(self, key: tuple, load_fn) -> DataLoader:
        """A loader of a domain's own (e.g. counts); cached for the request like the others."""
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = DataLoader(load_fn=load_fn, max_batch_size=MAX_BATCH)
        return loader
