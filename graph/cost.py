"""Query cost: a document that would cost the server more than `MAX_COST` is refused before it runs.

The depth and alias limits do not stop a query that asks for the same expensive field many times (25 level
dashboards through aliases ran 2.4 s). Each field of the operation costs:

    its own cost (FIELD_COST, else 1 for a field that returns objects, 0 for a scalar)
    + the cost of its selection × how many rows it stands for (`first` of a connection, the ids of `nodes`,
      an estimate for the few lists FIELD_ROWS names, else 1)

summed over every field, alias and fragment (on an abstract type, the fragments of every type count). A unit is
roughly a few milliseconds of server time: a level dashboard (120 learners, about 0.6 s) is 200. The ordinary
screens cost 3–200 (tests/foundation/test_cost.py measures bench/operations.py); the limit is 1000.

The variables are known: the check runs after validation, once per request (a validated document is cached, its
cost depends on `first` and `ids`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    ListValueNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)
from graphql.utilities import get_operation_ast, value_from_ast_untyped
from strawberry.extensions import SchemaExtension

MAX_COST = 1000
CODE = "QUERY_TOO_COSTLY"

# Fields that cost more than one unit, measured (README, Performance) or estimated from the rows they read.
FIELD_COST: dict[tuple[str, str], int] = {
    ("Level", "dashboard"): 200,  # every learner of the level, every result: 0.6 s for 120 learners
    ("Learner", "dashboard"): 5,
    ("Learner", "interimReviews"): 3,
    ("Period", "portfolios"): 20,  # the period view, a page of up to a hundred portfolios with their relations
    ("Portfolio", "bilan"): 3,
    ("Period", "allowanceStatement"): 5,  # five statements, whatever the number of learners
    ("CompanyBilan", "activities"): 10,  # the bilan grid: every task, competence and criterion
    ("CompanyBilan", "resultLog"): 5,
}
# Plain lists whose rows multiply what is asked of each: an estimate of their length in a school.
FIELD_ROWS: dict[tuple[str, str], int] = {
    ("Query", "levels"): 5,
    ("Query", "classrooms"): 12,
    ("Query", "periods"): 4,
    ("Level", "classrooms"): 4,
    ("Level", "periods"): 4,
}
PAGE = 100  # a connection without `first` answers a page of 100 (graph/types/common.py)
# Connections whose page is built in one batch (one statement per kind of data, whatever its length): a page
# counts as one row per started BATCH_ROWS of its `first` (its default: the page's largest size).
BATCH_ROWS = 100
BATCHED_PAGES: dict[tuple[str, str], int] = {
    ("Period", "portfolios"): 500,  # graph/types/portfolios.py, PORTFOLIO_PAGE
    ("Portfolio", "activityFiches"): 100,  # graph/types/fiches.py: read whole per portfolio, fields per page
    ("LevelDashboard", "learners"): 100,  # graph/types/dashboard.py: a page's dashboards computed together
}


class _Costing:
    def __init__(self, schema, fragments: dict, variables: dict[str, Any]):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    return self.variables.get(argument.value.name.value)
                if isinstance(argument.value, ListValueNode):
                    return argument.value.values
                return value_from_ast_untyped(argument.value)
        return None

    def _rows(self, parent: str, node: FieldNode) -> int:
        name = node.name.value
        if name == "nodes":
            ids = self._argument(node, "ids")
            return max(len(ids), 1) if isinstance(ids, (list, tuple)) else 1
        field = self.schema.get_type(parent).fields[name]
        largest = BATCHED_PAGES.get((parent, name))
        if largest is not None:
            first = self._argument(node, "first")
            size = first if isinstance(first, int) and 0 <= first <= largest else largest
            return max(1, -(-size // BATCH_ROWS))
        if "first" in field.args:
            first = self._argument(node, "first")
            return first if isinstance(first, int) and 0 <= first <= PAGE else PAGE
        return FIELD_ROWS.get((parent, name), 1)

    def selections(self, selection_set, parent: str) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                on = selection.type_condition.name.value if selection.type_condition else parent
                total += self.selections(selection.selection_set, on)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                total += self.selections(fragment.selection_set, fragment.type_condition.name.value)
        return total

    def field(self, node: FieldNode, parent: str) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        definition = self.schema.get_type(parent).fields[name]
        returns = get_named_type(definition.type)
        if not is_composite_type(returns):
            return FIELD_COST.get((parent, name), 0)
        own = FIELD_COST.get((parent, name), 1)
        return own + self._rows(parent, node) * self.selections(node.selection_set, returns.name)


def operation_cost(schema, document, operation_name: str | None, variables: dict[str, Any] | None) -> int:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root: GraphQLObjectType | None = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[operation.operation.value]
    if root is None:  # an operation type the schema does not define: validation refuses it, nothing runs
        return 0
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    return _Costing(schema, fragments, variables or {}).selections(operation.selection_set, root.name)


class QueryCost(SchemaExtension):
    """Listed after ValidationCache: only a valid document is costed, and the refusal is a validation error."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            cost = operation_cost(
                context.schema._schema, context.graphql_document, context.operation_name, context.variables
            )
            if cost > MAX_COST:
                context.pre_execution_errors = [
                    GraphQLError(
                        f"This query would cost {cost}, more than the {MAX_COST} a request may: ask for fewer "
                        "dashboards, aliases or rows at once.",
                        extensions={"code": CODE, "cost": cost, "maxCost": MAX_COST},
                    )
                ]
        yield
