"""A document is validated once, then its validation comes from the cache (the limits still hold)."""

import strawberry.schema.schema as strawberry_schema

from graph.schema import MAX_DEPTH


def _count_validations(monkeypatch) -> list:
    calls = []
    validate = strawberry_schema.validate

    def counting(schema, document, rules, *args, **kwargs):
        calls.append(document)
        return validate(schema, document, rules, *args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting)
    return calls


async def test_the_same_document_is_validated_once(teacher, monkeypatch):
    # given a document this process has not validated yet
    calls = _count_validations(monkeypatch)
    query = "{ validationCacheProbe: me { id role } school { name } }"
    # when it is sent three times
    for _ in range(3):
        await teacher.data(query)
    # then graphql-core validated it once
    assert len(calls) == 1


async def test_a_refused_document_stays_refused_from_the_cache(teacher, monkeypatch):
    calls = _count_validations(monkeypatch)
    query = "{ probe: levels { " + "classrooms { level { " * MAX_DEPTH + "name" + " } }" * MAX_DEPTH + " } }"
    codes = [(await teacher.execute(query))["errors"][0]["extensions"]["code"] for _ in range(2)]
    assert codes == ["GRAPHQL_VALIDATION_FAILED"] * 2
    assert len(calls) == 1
