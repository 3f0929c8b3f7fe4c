"""The one Schema of the process: it only composes the domains' Query, Mutation and Subscription classes."""

from __future__ import annotations

import strawberry
from graphql import GraphQLInterfaceType
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from graph.cost import QueryCost
from graph.errors import ErrorPolicy
from graph.execution import DirectExecutionContext, answer_fields_directly
from graph.exposure import IntrospectionPolicy
from graph.logs import log_graphql_errors
from graph.nodes import unregistered
from graph.response_cache import CacheableQuery
from graph.text_guard import RefuseUnstorableText
from graph.types.users import Administrator, ApprenticeshipMaster, Learner, Teacher, Tutor
from resolvers.audit import AuditQuery
from resolvers.bilans.bilans import BilanMutation
from resolvers.bilans.reviews import InterimReviewMutation
from resolvers.documents.allowance import AllowanceMutation, AllowanceQuery
from resolvers.documents.paper import BilanPaperMutation
from resolvers.downloads import DownloadQuery
from resolvers.fiches.annexes import AnnexMutation
from resolvers.fiches.fiches import FicheMutation
from resolvers.frameworks.frameworks import FrameworkMutation, FrameworkQuery
from resolvers.live import LiveSubscription
from resolvers.node import NodeQuery
from resolvers.people.accounts import AccountMutation
from resolvers.people.auth import AuthMutation, AuthQuery
from resolvers.people.identity import IdentityMutation, IdentityQuery, RosterMutation
from resolvers.people.links import TrainerLinkMutation
from resolvers.people.refresh import RefreshMutation
from resolvers.people.schools import SchoolQuery
from resolvers.people.staff import StaffMutation
from resolvers.people.trainers import TrainerMutation, TrainerQuery
from resolvers.periods.liaison import LiaisonMutation
from resolvers.periods.periods import PeriodMutation, PeriodQuery
from resolvers.stewardship.retention import RetentionMutation

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 3000


@strawberry.type(description="Everything that can be read.")
class Query(
    AuthQuery,
    NodeQuery,
    SchoolQuery,
    FrameworkQuery,
    PeriodQuery,
    TrainerQuery,
    IdentityQuery,
    AllowanceQuery,
    DownloadQuery,
    AuditQuery,
):
    pass


@strawberry.type(description="Everything that can be changed.")
class Mutation(
    AuthMutation,
    RefreshMutation,
    AccountMutation,
    FrameworkMutation,
    PeriodMutation,
    LiaisonMutation,
    TrainerMutation,
    TrainerLinkMutation,
    IdentityMutation,
    RosterMutation,
    StaffMutation,
    RetentionMutation,
    FicheMutation,
    AnnexMutation,
    BilanMutation,
    BilanPaperMutation,
    InterimReviewMutation,
    AllowanceMutation,
):
    pass


@strawberry.type(description="Live news over graphql-transport-ws (docs/live-news.md).")
class Subscription(LiveSubscription):
    pass


# The limiters' rule classes, built once. QueryDepthLimiter and MaxAliasesLimiter define a new rule class in each
# instance, and ValidationCache keys its cache on the rules: built per request, they made every request miss it
# and validate its document again.
LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)


class PortfolioSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Strawberry's own logging prints the query's source lines, inline passwords included (graph/logs.py).
        log_graphql_errors(errors)


schema = PortfolioSchema(
    query=Query,
    execution_context_class=DirectExecutionContext,
    mutation=Mutation,
    subscription=Subscription,
    types=[Learner, Teacher, Tutor, ApprenticeshipMaster, Administrator],
    extensions=[
        # Factories, not instances: an extension instance must not be shared between requests.
        ErrorPolicy,
        RefuseUnstorableText,
        lambda: AddValidationRules(list(LIMIT_RULES)),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        # After the cache: they add their refusal to a document the other rules let through.
        IntrospectionPolicy,
        QueryCost,
        # Marks the answers of queries, the only ones the response cache may keep (graph/response_cache.py).
        CacheableQuery,
    ],
)


# Fields whose answer needs no Strawberry machinery answer without it (graph/execution.py).
answer_fields_directly(schema._schema)


def node_type_names(built: strawberry.Schema) -> set[str]:
    """The object types of a schema that implement Node: what `node(id:)` may be asked for."""
    graphql_schema = built._schema
    node = graphql_schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)  # strawberry.relay's Node, which the Query's node field brings
    return {t.name for t in graphql_schema.get_implementations(node).objects}


# A Node type without a row scope would answer `node(id:)` to anyone: refuse to start instead.
if missing := unregistered(node_type_names(schema)):
    raise RuntimeError(f"Node types without an entry (and a row scope) in graph/nodes.py: {sorted(missing)}")
