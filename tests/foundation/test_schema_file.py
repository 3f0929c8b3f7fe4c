"""graph/schema.graphql is the committed SDL: it must match the code."""

from pathlib import Path

from graphql import GraphQLEnumType

from graph.schema import schema

SDL_FILE = Path(__file__).resolve().parents[2] / "graph" / "schema.graphql"


def test_committed_sdl_matches_the_code():
    committed = SDL_FILE.read_text("utf-8")
    assert committed.strip() == schema.as_str().strip(), (
        "graph/schema.graphql is stale: regenerate it with `pfmp export-schema > graph/schema.graphql`"
    )


def test_every_type_and_field_has_a_description():
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in ("String", "Boolean", "Int", "Float", "ID"):
            continue
        if not graphql_type.description:
            missing.append(name)
        for field_name, field in (getattr(graphql_type, "fields", None) or {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
    assert missing == []


def test_every_argument_and_enum_value_has_a_description():
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        for field_name, field in (getattr(graphql_type, "fields", None) or {}).items():
            missing += [
                f"{name}.{field_name}({arg})"
                for arg, a in (getattr(field, "args", None) or {}).items()
                if not a.description
            ]
        if isinstance(graphql_type, GraphQLEnumType):
            missing += [f"{name}.{value}" for value, v in graphql_type.values.items() if not v.description]
    for directive in schema._schema.directives:
        missing += [f"@{directive.name}({arg})" for arg, a in directive.args.items() if not a.description]
    assert missing == []
