"""What the schema tells about itself: introspection and the "Did you mean …?" hints of error messages.

Both are on in development and off in production unless `PFMP_INTROSPECTION=1` (graph/settings.py). Off, a query
selecting `__schema` or `__type` fails validation (`__typename` stays: clients need it), and the hints that
graphql-core appends to validation and coercion errors, which name fields, arguments and enum values the caller
did not know, are cut from every message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError, validate
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

INTROSPECTION_FIELD = re.compile(r"\b__(schema|type)\b")
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
INTROSPECTION_OFF = "Introspection is disabled on this server."


def introspection_allowed(execution_context) -> bool:
    settings = getattr(execution_context.context, "settings", None)
    return settings is None or settings.introspection


class IntrospectionPolicy(SchemaExtension):
    """Listed after ValidationCache: adds its refusal to a document that passed the other rules."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if (
            not context.pre_execution_errors
            and context.graphql_document is not None
            and INTROSPECTION_FIELD.search(context.query or "")
            and not introspection_allowed(context)
        ):
            # The text search only spares the walk to ordinary queries; the rule decides (a string could match).
            errors = validate(context.schema._schema, context.graphql_document, [NoSchemaIntrospectionCustomRule])
            if errors:
                context.pre_execution_errors = [
                    GraphQLError(
                        INTROSPECTION_OFF, nodes=errors[0].nodes, extensions={"code": "GRAPHQL_VALIDATION_FAILED"}
                    )
                ]
        yield


def without_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message)
