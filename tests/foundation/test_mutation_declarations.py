"""Every mutation of the schema is declared by `resolvers.mutations.mutation` and answers a `Payload`."""

from graph.schema import schema
from graph.types.common import Payload
from resolvers.mutations import DECLARED, Declared
from tests.access.spec_matrix import BY_RULE

# The mutations that write files or call out before writing rows (or write only sign-in throttling) and so
# run `run_mutation` themselves around the rows they write; every other one runs in the decorator's transaction.
OWN_TRANSACTION = {
    "login",
    "cas_login",
    "password_change",
    "teacher_create",
    "learner_create",
    "tutor_create",
    "master_create",
    "roster_import",
    "staff_import",
    "annex_upload",
    "annex_delete",
    # the scan of a bilan signed on paper: written before its transaction, claimed or dropped after it
    "bilan_paper_scan_upload",
    # the throttle's count, and a reused refresh token's family revoked while the answer is a refusal
    "token_refresh",
    # the throttle counts the exchange in its own transaction first, so that a refusal stays counted
    "trainer_link_exchange",
    # a learner's erasure: its files removed once the rows' erasure is committed, then looked up again
    "learner_erase",
}


def _mutations():
    return schema.get_type_by_name("Mutation").fields


def test_every_mutation_is_declared_with_its_rule_transaction_and_payload():
    for field in _mutations():
        declared = field.base_resolver.wrapped_func.__dict__.get(DECLARED)
        assert isinstance(declared, Declared), f"{field.python_name} is not declared by @mutation"
        assert declared.rule is None or declared.rule in BY_RULE, field.python_name
        assert declared.transaction == (field.python_name not in OWN_TRANSACTION), field.python_name
        assert issubclass(field.type, Payload), f"{field.python_name} answers {field.type}, not a Payload"


def test_every_payload_inherits_its_errors_from_the_base_payload():
    payloads = {field.type for field in _mutations()}
    for payload in payloads:
        own = payload.__dict__.get("__annotations__", {})
        assert "errors" not in own, f"{payload.__name__} re-declares errors"


def test_every_mutation_takes_one_input_of_its_own():
    """GitHub's style: `xxx(input: XxxInput!)`, the input named after the mutation and holding every argument (the
    id and version included); a mutation with nothing to say (signOutEverywhere) takes no argument at all."""
    inputs = {}
    for name, field in schema._schema.mutation_type.fields.items():
        if not field.args:
            continue
        assert list(field.args) == ["input"], f"{name} takes {list(field.args)}"
        assert str(field.args["input"].type) == f"{name[0].upper()}{name[1:]}Input!", name
        inputs[name] = field.args["input"].type
    assert len(set(map(str, inputs.values()))) == len(inputs)
    assert [name for name, field in schema._schema.mutation_type.fields.items() if not field.args] == [
        "signOutEverywhere"
    ]
