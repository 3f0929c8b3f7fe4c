"""OpenID Connect bearer tokens, signed with keys generated here and published by a loopback JWKS."""

import asyncio
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from graph.settings import OidcProvider
from graph.types.common import encode_id
from models.portfolios import Portfolio
from models.users import ExternalIdentity, User
from permissions import oidc
from permissions.remote import RemoteError
from permissions.tokens import InvalidToken
from tests.conftest import Api
from tests.identity.conftest import ACADEMIE_ISSUER, ENT_ISSUER, ent, person_id

ME = "{ me { __typename fullName role } }"
NOT_VALID = "The access token is not valid."
NOT_LINKED = (
    "You are signed in at 'ent', but no account of this server is linked to that identity. Ask your school's "
    "administrator to link it."
)


async def link(admin: Api, user: User, subject: str, provider: str = "ent") -> None:
    data = await admin.data(
        """mutation($u: ID!, $p: String!, $s: String) { userExternalIdentitySet(input: {userId: $u, provider: $p, subject: $s})
        { errors { code message } } }""",
        u=person_id(user),
        p=provider,
        s=subject,
    )
    assert data["userExternalIdentitySet"]["errors"] == []


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, claims: dict, hmac_key: bytes | None) -> str:
    """A JWT built by hand, as an attacker would: HMAC-signed with `hmac_key`, or unsigned."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest() if hmac_key else b""
    return f"{signing_input}.{b64(signature)}"


def claims_for(subject: str) -> dict:
    now = int(time.time())
    return {"iss": ENT_ISSUER, "aud": "pfmp-api", "sub": subject, "iat": now, "exp": now + 600}


async def refused(http, token: str) -> str:
    """The UNAUTHENTICATED message `me` answers for this token, in English."""
    body = await Api(http, token, language="en").execute(ME)
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    return body["errors"][0]["message"]


async def test_a_provider_token_signs_in_the_linked_account(http, admin, teacher, idp):
    # given
    await link(admin, teacher.user, "jean.ent.42")
    # when
    body = await Api(http, idp.token(sub="jean.ent.42")).execute(ME)
    # then
    assert body == {"data": {"me": {"__typename": "Teacher", "fullName": "Claire MARTIN", "role": "TEACHER"}}}


async def test_signing_out_here_needs_a_token_of_this_servers_code_flow(http, admin, teacher, idp):
    # docs/identity.md: a token that did not come from the code flow is a 400 NOT_AN_OIDC_SIGN_IN;
    # no token or a bad one, a 401 naming why
    await link(admin, teacher.user, "jean.ent.42")

    async def sign_out(token: str | None) -> tuple[int, dict]:
        answer = await http.post("/auth/oidc/logout", headers={"Authorization": f"Bearer {token}"} if token else {})
        assert answer.headers["cache-control"] == "no-store"
        return answer.status_code, answer.json()

    assert await sign_out(teacher.token) == (400, {"error": "NOT_AN_OIDC_SIGN_IN"})  # a password sign-in's
    assert await sign_out(idp.token(sub="jean.ent.42")) == (400, {"error": "NOT_AN_OIDC_SIGN_IN"})  # the provider's
    assert await sign_out(None) == (401, {"error": "UNAUTHENTICATED"})
    assert await sign_out("not-a-token") == (401, {"error": "TOKEN_INVALID"})
    # and the password sign-in still works: nothing was revoked
    assert (await teacher.data(ME))["me"]["fullName"] == "Claire MARTIN"


async def test_another_subject_at_the_same_provider_is_linked_to_nobody(http, admin, teacher, idp):
    # the identity is the provider and the subject together: one linked subject does not open the provider's others
    await link(admin, teacher.user, "jean.ent.42")
    assert await refused(http, idp.token(sub="jean.ent.43")) == NOT_LINKED
    assert (await Api(http, idp.token(sub="jean.ent.42")).data(ME))["me"]["fullName"] == "Claire MARTIN"


async def test_a_token_matched_by_email_signs_in_with_es256(http, learner, idp):
    token = idp.academie_token(email="Angelique.Dupire@demo.pfmp.test", email_verified=True)
    data = await Api(http, token).data(ME)
    assert data["me"]["fullName"] == "Angélique DUPIRE"


async def test_the_server_own_tokens_still_work_beside_providers(admin):
    assert (await admin.data(ME))["me"]["role"] == "ADMIN"


async def test_the_account_role_comes_from_the_server_not_the_token(http, admin, learner, idp):
    await link(admin, learner.user, "eleve-1")
    token = idp.token(sub="eleve-1", role="ADMIN", roles=["ADMIN"])
    body = await Api(http, token).execute(
        'mutation { rosterImport(input: {content: "x", format: CSV}) { errors { code } } }'
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_valid_token_of_a_person_without_account_is_refused_and_nothing_is_created(http, idp):
    users_before = await User.all().count()
    assert await refused(http, idp.token(sub="nobody-here")) == NOT_LINKED
    assert await User.all().count() == users_before
    assert not await ExternalIdentity.exists(subject="nobody-here")


async def test_an_unverified_email_is_refused(http, idp):
    token = idp.academie_token(email="angelique.dupire@demo.pfmp.test", email_verified=False)
    assert "not verified" in await refused(http, token)


async def test_a_deactivated_account_is_refused(http, admin, teacher, idp):
    await link(admin, teacher.user, "jean.ent.42")
    await User.filter(id=teacher.user.id).update(is_active=False)
    assert await refused(http, idp.token(sub="jean.ent.42")) == NOT_LINKED


@pytest.mark.parametrize("case", ["expired", "wrong audience", "no exp", "no iat", "issued in the future"])
async def test_bad_claims_are_refused(http, admin, teacher, idp, case):
    await link(admin, teacher.user, "jean.ent.42")
    now = int(time.time())
    claims = {
        "expired": dict(iat=now - 3600, exp=now - 600),
        "wrong audience": dict(aud="another-app"),
        "no exp": dict(drop=("exp",)),
        "no iat": dict(drop=("iat",)),
        "issued in the future": dict(iat=now + 3600, exp=now + 7200),
    }[case]
    message = await refused(http, idp.token(sub="jean.ent.42", **claims))
    assert message == ("The access token has expired." if case == "expired" else NOT_VALID)


async def test_a_token_of_an_issuer_not_configured_is_refused(http, admin, teacher, idp):
    await link(admin, teacher.user, "jean.ent.42")
    message = await refused(http, idp.token(sub="jean.ent.42", iss="https://evil.example.test"))
    assert "does not accept" in message


async def test_a_token_signed_by_an_unknown_key_is_refused(http, admin, teacher, idp):
    # given: a key the provider never published, under a new key id and under the published one
    await link(admin, teacher.user, "jean.ent.42")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # then
    assert await refused(http, idp.token(key=stranger, kid="rsa-unknown", sub="jean.ent.42")) == NOT_VALID
    assert await refused(http, idp.token(key=stranger, kid="rsa-1", sub="jean.ent.42")) == NOT_VALID


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_refused(http, admin, teacher, idp, alg):
    await link(admin, teacher.user, "jean.ent.42")
    token = hand_made({"alg": alg, "typ": "JWT", "kid": "rsa-1"}, claims_for("jean.ent.42"), None)
    assert token.endswith(".")  # really unsigned
    assert await refused(http, token) == NOT_VALID


async def test_hs256_signed_with_the_public_key_is_refused(http, admin, teacher, idp, settings):
    # given: the classic confusion, HMAC keyed with the provider's public key, or with the server's own secret
    await link(admin, teacher.user, "jean.ent.42")
    public_pem = idp.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    forged = [
        hand_made(header, claims_for("jean.ent.42"), public_pem),
        hand_made(header, claims_for("jean.ent.42"), settings.token_secret.encode()),
    ]
    # then
    for token in forged:
        assert await refused(http, token) == NOT_VALID


async def test_an_es256_token_for_an_rs256_provider_is_refused(http, admin, teacher, idp):
    await link(admin, teacher.user, "jean.ent.42")
    assert await refused(http, idp.token(key=idp.ec, kid="ec-1", alg="ES256", sub="jean.ent.42")) == NOT_VALID


async def test_keys_are_cached_and_refetched_on_an_unknown_key_id(http, admin, teacher, idp):
    # given
    await link(admin, teacher.user, "jean.ent.42")
    for _ in range(3):
        await Api(http, idp.token(sub="jean.ent.42")).data(ME)
    assert idp.jwks_fetches == {"/ent/jwks": 1}
    # when: the provider rotates its key
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    idp.published = [("rsa-2", new_key)]
    # then
    assert (await Api(http, idp.token(key=new_key, kid="rsa-2", sub="jean.ent.42")).data(ME))["me"]
    assert idp.jwks_fetches == {"/ent/jwks": 2}
    await refused(http, idp.token(sub="jean.ent.42"))  # the retired key no longer signs in


async def test_a_provider_publishing_one_key_is_refetched_when_it_rotates_it(http, admin, teacher, idp):
    # given: one published key, which a token without a key id would also pick
    idp.published = [(idp.rsa_kid, idp.rsa)]
    await link(admin, teacher.user, "jean.ent.42")
    for _ in range(2):
        await Api(http, idp.token(sub="jean.ent.42")).data(ME)
    assert idp.jwks_fetches == {"/ent/jwks": 1}
    # when: the provider replaces it
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    idp.published = [("rsa-2", new_key)]
    # then: the token's own key id is looked up, not the lone key's
    assert (await Api(http, idp.token(key=new_key, kid="rsa-2", sub="jean.ent.42")).data(ME))["me"]
    assert idp.jwks_fetches == {"/ent/jwks": 2}


async def test_made_up_key_ids_do_not_make_the_server_hammer_the_provider(http, idp):
    # "academie" refetches on an unknown key id at most once an hour
    await Api(http, idp.academie_token(email="angelique.dupire@demo.pfmp.test")).data(ME)
    stranger = ec.generate_private_key(ec.SECP256R1())
    for index in range(5):
        token = idp.token(
            key=stranger,
            kid=f"made-up-{index}",
            alg="ES256",
            iss=ACADEMIE_ISSUER,
            email="angelique.dupire@demo.pfmp.test",
        )
        await refused(http, token)
    assert idp.jwks_fetches == {"/academie/jwks": 1}


async def test_an_unreachable_jwks_is_a_clear_refusal(http, idp):
    token = idp.token(iss="https://down.example.test", sub="x")
    assert "cannot be fetched" in await refused(http, token)


async def test_a_slow_jwks_does_not_block_other_requests(http, admin, teacher, idp):
    # given: the provider takes a second to publish its keys
    await link(admin, teacher.user, "jean.ent.42")
    idp.jwks_delay = 1.0
    finished: dict[str, float] = {}

    async def timed(name, coro):
        await coro
        finished[name] = time.monotonic()

    # when: a provider token (fetching keys) and a request with the server's own token run together
    async def own_token_request():
        await asyncio.sleep(0.1)
        await admin.data(ME)

    await asyncio.gather(
        timed("provider", Api(http, idp.token(sub="jean.ent.42")).data(ME)), timed("own", own_token_request())
    )
    # then: the own-token request did not wait for the key fetch
    assert finished["own"] < finished["provider"] - 0.5


async def test_garbage_bearer_tokens_are_refused(http):
    for token in ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "x" * 5000]:
        assert await refused(http, token) == NOT_VALID


async def test_the_key_set_is_read_as_rfc_7517_defines_it(http, admin, teacher, idp):
    # RFC 7517: a JWK set is a JSON object whose "keys" member is an array of JWKs; "use" (sig or enc) and "kid"
    # are optional. "ent" refetches on any unknown key id and keeps a key set for an hour.
    await link(admin, teacher.user, "jean.ent.42")
    rsa_jwk = next(k for k in idp.jwks()["keys"] if k["kid"] == "rsa-1")
    unusable = "The identity provider's signing keys cannot be fetched right now; try again later."

    def serve(*entries) -> None:
        idp.jwks_body = json.dumps({"keys": list(entries)}).encode()

    # an answer that is not a key set is no key set at all
    for body in [b"<html>down</html>", b"\xc3\x28", b'[{"kty": "RSA"}]', b'{"keys": {"rsa-1": {}}}', b"{}"]:
        idp.jwks_body = body
        assert await refused(http, idp.token(sub="jean.ent.42")) == unusable, body
    # a key published for encryption does not verify signatures
    serve({**rsa_jwk, "use": "enc"})
    assert await refused(http, idp.token(sub="jean.ent.42")) == NOT_VALID
    # two keys and a token naming none: which one is meant is unknown
    idp.jwks_body = None
    assert await refused(http, idp.token(kid=None, sub="jean.ent.42")) == NOT_VALID
    # entries that are not objects or not signature keys are skipped; a key without "use" signs
    without_use = {k: v for k, v in rsa_jwk.items() if k != "use"}
    serve("rsa-3", {"kty": "oct", "kid": "oct-1", "k": "c2VjcmV0"}, {**without_use, "kid": "rsa-3"})
    assert (await Api(http, idp.token(kid="rsa-3", sub="jean.ent.42")).data(ME))["me"]
    # the one key of the set serves a token naming no key id, not a token naming another id
    assert (await Api(http, idp.token(kid=None, sub="jean.ent.42")).data(ME))["me"]
    assert await refused(http, idp.token(kid="rsa-4", sub="jean.ent.42")) == NOT_VALID
    # a known key id is served from the cache for an hour, then fetched again
    fetches = idp.jwks_fetches["/ent/jwks"]
    assert (await Api(http, idp.token(kid="rsa-3", sub="jean.ent.42")).data(ME))["me"]
    assert idp.jwks_fetches["/ent/jwks"] == fetches
    key_set = next(s for (issuer, _), s in oidc._key_sets.items() if issuer == ENT_ISSUER)
    assert key_set.fetched_at is not None and key_set.attempted_at is not None
    key_set.fetched_at -= 3601
    key_set.attempted_at -= 3601
    assert (await Api(http, idp.token(kid="rsa-3", sub="jean.ent.42")).data(ME))["me"]
    assert idp.jwks_fetches["/ent/jwks"] == fetches + 1


# A provider's discovery document (OpenID Connect Discovery 1.0), read at start-up and on a key refetch: what is
# wrong with a malformed one is named in the server's log, which is all an administrator has to mend it.
DISCOVERED = "https://sso.example.test/realms/lycee"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"\xff\xfe{}", "answered something that is not JSON"),
        (b"<html>maintenance</html>", "answered something that is not JSON"),
        (b"[1, 2]", "answered JSON that is not an object"),
        (
            json.dumps({"issuer": "https://other.example.test"}).encode(),
            "publishes the issuer 'https://other.example.test', not the configured one",
        ),
        (
            json.dumps({"issuer": "https://" + "x" * 300}).encode(),
            f"publishes the issuer {'https://' + 'x' * 192!r}, not the configured one",  # cut at 200 characters
        ),
        (
            json.dumps({"jwks_uri": f"{DISCOVERED}/certs"}).encode(),
            "publishes the issuer 'None', not the configured one",
        ),
        (
            json.dumps({"issuer": DISCOVERED, "jwks_uri": "ftp://sso.example.test/certs"}).encode(),
            "gives a jwks_uri that is not an http(s) address",
        ),
        (
            json.dumps({"issuer": DISCOVERED, "jwks_uri": f"{DISCOVERED}/certs", "token_endpoint": 7}).encode(),
            "gives a token_endpoint that is not an http(s) address",
        ),
        (json.dumps({"issuer": DISCOVERED, "token_endpoint": f"{DISCOVERED}/token"}).encode(), "gives no jwks_uri"),
    ],
    ids=[
        "not-utf8",
        "not-json",
        "not-an-object",
        "another-issuer",
        "a-long-issuer",
        "no-issuer",
        "ftp-keys",
        "number-endpoint",
        "no-keys",
    ],
)
def test_a_malformed_discovery_document_is_refused_naming_what_is_wrong(body, named):
    provider = OidcProvider(name="ent", issuer=DISCOVERED, audience="pfmp")
    with pytest.raises(RemoteError) as refused:
        oidc.parse_discovery(provider, body)
    assert str(refused.value) == named


def test_a_discovery_document_gives_its_keys_and_endpoints_and_nothing_else():
    provider = OidcProvider(name="ent", issuer=DISCOVERED, audience="pfmp")
    document = {
        "issuer": DISCOVERED,
        "jwks_uri": f"{DISCOVERED}/certs",
        "authorization_endpoint": f"{DISCOVERED}/auth",
        "token_endpoint": "http://sso.internal/token",
        "userinfo_endpoint": f"{DISCOVERED}/userinfo",
    }
    assert oidc.parse_discovery(provider, json.dumps(document).encode()) == oidc.Metadata(
        issuer=DISCOVERED,
        jwks_uri=f"{DISCOVERED}/certs",
        authorization_endpoint=f"{DISCOVERED}/auth",
        token_endpoint="http://sso.internal/token",
        end_session_endpoint=None,
    )


def _discovered(idp, **settings) -> OidcProvider:
    return OidcProvider(
        name="ent", issuer=DISCOVERED, audience="pfmp", discovery_url=f"{idp.base}/discovery", **settings
    )


GOOD_DISCOVERY = json.dumps({"issuer": DISCOVERED, "jwks_uri": f"{DISCOVERED}/certs"}).encode()


async def test_a_provider_whose_discovery_fails_is_asked_again_only_after_the_refresh_interval(idp):
    # given a provider whose discovery document is not JSON, asked again at most every 0.5 s
    provider = _discovered(idp, jwks_min_refresh_seconds=0.5)
    idp.discovery_body = b"<html>maintenance</html>"
    # when its metadata is asked, then asked again at once
    with pytest.raises(RemoteError, match="^answered something that is not JSON$"):
        await oidc.metadata(provider)
    with pytest.raises(RemoteError, match="^could not be read lately$"):
        await oidc.metadata(provider)
    # then the provider was asked once
    assert idp.discovery_fetches == 1
    # and once the interval is over, mended, it is asked again and its document kept
    await asyncio.sleep(0.6)
    idp.discovery_body = GOOD_DISCOVERY
    assert (await oidc.metadata(provider)).jwks_uri == f"{DISCOVERED}/certs"
    assert (await oidc.metadata(provider)).jwks_uri == f"{DISCOVERED}/certs"
    assert idp.discovery_fetches == 2


async def test_a_discovery_that_fails_after_a_good_one_keeps_the_last_and_logs_why(idp, caplog):
    provider = _discovered(idp)
    idp.discovery_body = GOOD_DISCOVERY
    first = await oidc.rediscover(provider)
    # when the provider answers garbage on the next read
    idp.discovery_body = b"[]"
    with caplog.at_level("WARNING", logger="pfmp.oidc"):
        kept = await oidc.rediscover(provider)
    # then the last document read is kept, and the log says which provider failed, how, and what was kept
    assert kept == first and idp.discovery_fetches == 2
    assert [r.getMessage() for r in caplog.records if r.name == "pfmp.oidc"] == [
        "discovery document of ent answered JSON that is not an object: the last one read is kept"
    ]


async def test_providers_whose_discovery_fails_at_start_are_each_one_log_line_and_stop_nothing(idp, caplog):
    # given two providers read at start-up: one answers garbage, the other a good document; a third has no discovery
    broken = _discovered(idp)
    idp.discovery_body = b"[]"
    with caplog.at_level("WARNING", logger="pfmp.oidc"):
        await oidc.discover_all((broken, OidcProvider(name="keys-only", issuer="https://k.test", audience="pfmp")))
    # then the broken one is one line naming it, its address and what is wrong; nothing was raised
    assert [r.getMessage() for r in caplog.records if r.name == "pfmp.oidc"] == [
        f"OIDC provider ent: its discovery document {idp.base}/discovery answered JSON that is not an object; "
        "it is asked again on next use"
    ]
    assert idp.discovery_fetches == 1


# --- the claim that names the person --------------------------------------------------------------------------------

MISSING_SUB = "The access token does not carry the 'sub' claim this server needs."


async def test_a_token_without_the_claim_the_provider_matches_on_is_refused_naming_it(http, idp):
    assert await refused(http, idp.token(drop=("sub",))) == MISSING_SUB
    # "academie" matches accounts by email
    assert (
        await refused(http, idp.academie_token(sub="x"))
        == "The access token does not carry the 'email' claim this server needs."
    )


@pytest.mark.parametrize(
    "value",
    [True, False, "", "   ", ["jean.ent.42"], {"id": "jean.ent.42"}, 4.2],
    ids=["true", "false", "empty", "blank", "a-list", "an-object", "a-fraction"],
)
async def test_a_claim_value_that_names_nobody_is_refused_as_missing(idp, value):
    # PyJWT itself refuses a "sub" that is not text: a provider matching on another claim gets any JSON value
    with pytest.raises(InvalidToken) as refusal:
        await oidc.account_of(ent(idp, claim="uid"), {"uid": value})
    assert (refusal.value.key, refusal.value.params) == ("TOKEN_CLAIM_MISSING", {"claim": "uid"})


async def test_a_number_claim_names_the_account_linked_under_its_digits(admin, teacher, idp):
    await link(admin, teacher.user, "42")
    assert (await oidc.account_of(ent(idp, claim="uid"), {"uid": 42})).id == teacher.user.id


# --- the viewer a provider's token stands for --------------------------------------------------------------------

PORTFOLIO = """query($id: ID!) { node(id: $id) { ... on Portfolio { meetingSheetUrl } } }"""
SIGN = """query($path: String!) { signedDownloadUrl(path: $path) { url } }"""


async def test_a_provider_sign_in_acts_with_the_accounts_role_school_and_token_version(http, admin, teacher, idp):
    # given: Claire's account at token version 3, signed in through her ENT
    await link(admin, teacher.user, "jean.ent.42")
    await User.filter(id=teacher.user.id).update(token_version=3)
    claire = Api(http, idp.token(sub="jean.ent.42"))
    portfolio = await Portfolio.get(learner__last_name="DUPIRE", period__name="Stage de découverte")
    # when: she asks for the meeting sheet of a portfolio of her school (a staff document) and a URL to download it
    path = (await claire.data(PORTFOLIO, id=encode_id("Portfolio", portfolio.id)))["node"]["meetingSheetUrl"]
    url = (await claire.data(SIGN, path=path))["signedDownloadUrl"]["url"]
    # then: the URL works while her account stays at the version she signed in with, and no longer after a bump
    assert (await http.get(url)).status_code == 200
    await User.filter(id=teacher.user.id).update(token_version=4)
    assert (await http.get(url)).status_code == 403


# --- verification, as the code flow's ID tokens and logout tokens use it -----------------------------------------


async def refusal_of(provider: OidcProvider, token: str) -> str:
    """The key of the refusal `oidc.verify` raises for the token."""
    with pytest.raises(InvalidToken) as refusal:
        await oidc.verify(provider, token)
    return refusal.value.key


async def test_verify_refuses_each_untrustworthy_token_with_its_reason(idp):
    provider = ent(idp)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    refusals = {
        "not a JWT": await refusal_of(provider, "not-a-jwt"),
        "an algorithm not accepted": await refusal_of(provider, idp.token(key=idp.ec, kid="ec-1", alg="ES256")),
        "a key id that is not text": await refusal_of(
            provider, hand_made({"alg": "RS256", "kid": 7}, claims_for("x"), b"k")
        ),
        "a key not published": await refusal_of(provider, idp.token(key=stranger, kid="rsa-9")),
        "another issuer": await refusal_of(provider, idp.token(iss="https://other.example.test")),
        "another audience": await refusal_of(provider, idp.token(aud="another-app")),
        "expired": await refusal_of(provider, idp.token(iat=now - 3600, exp=now - 600)),
    }
    assert refusals == {
        "not a JWT": "TOKEN_INVALID",
        "an algorithm not accepted": "TOKEN_INVALID",
        "a key id that is not text": "TOKEN_INVALID",
        "a key not published": "TOKEN_INVALID",
        "another issuer": "TOKEN_INVALID",
        "another audience": "TOKEN_INVALID",
        "expired": "TOKEN_EXPIRED",
    }


async def test_a_token_expired_within_the_leeway_is_still_accepted(idp):
    now = int(time.time())
    token = idp.token(sub="x", iat=now - 600, exp=now - 10)
    # clocks drift: 30 s of leeway by default
    assert (await oidc.verify(ent(idp), token))["sub"] == "x"
    assert await refusal_of(ent(idp, leeway=5), token) == "TOKEN_EXPIRED"


@pytest.mark.filterwarnings("ignore:The RSA key is 1024 bits")  # the provider signing with it, not us
async def test_a_key_too_short_to_be_safe_is_refused(idp):
    # given: the provider publishes a 1024-bit RSA key (NIST: under 2048 bits is no longer acceptable)
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    idp.published = [("rsa-short", short), (idp.rsa_kid, idp.rsa)]
    # then: a token it signed is refused, one signed by the 2048-bit key accepted
    assert await refusal_of(ent(idp), idp.token(key=short, kid="rsa-short")) == "TOKEN_INVALID"
    assert (await oidc.verify(ent(idp), idp.token(sub="y")))["sub"] == "y"


async def test_a_key_that_names_its_algorithm_verifies_that_one_only(idp):
    # given: a provider accepting RS256 and PS256; the same RSA key published without "alg" and with "alg": "RS256"
    provider = ent(idp, algorithms=("RS256", "PS256"))
    jwk = {**RSAAlgorithm.to_jwk(idp.rsa.public_key(), as_dict=True), "use": "sig"}
    idp.jwks_body = json.dumps({"keys": [{**jwk, "kid": "free"}, {**jwk, "kid": "rs256", "alg": "RS256"}]}).encode()
    # then: the key without "alg" verifies the token's algorithm, either of the provider's
    assert (await oidc.verify(provider, idp.token(kid="free", alg="PS256", sub="p")))["sub"] == "p"
    assert (await oidc.verify(provider, idp.token(kid="free", alg="RS256", sub="r")))["sub"] == "r"
    # and the key naming RS256 refuses a PS256 signature made with it
    assert (await oidc.verify(provider, idp.token(kid="rs256", alg="RS256", sub="r")))["sub"] == "r"
    assert await refusal_of(provider, idp.token(kid="rs256", alg="PS256")) == "TOKEN_INVALID"


async def test_a_published_key_is_prepared_once_for_every_token_it_verifies(idp, monkeypatch):
    # parsing a JWK into a public key costs more than checking a signature: it is done once per key and algorithm
    prepared: list[str | None] = []
    original = jwt.PyJWK

    def counted(jwk: dict, algorithm: str | None = None) -> jwt.PyJWK:
        prepared.append(jwk.get("kid"))
        return original(jwk, algorithm)

    monkeypatch.setattr(jwt, "PyJWK", counted)
    for subject in ("a", "b", "c"):
        assert (await oidc.verify(ent(idp), idp.token(sub=subject)))["sub"] == subject
    assert prepared == ["rsa-1"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>down</html>", "answered something that is not JSON"),
        (b'{"keys": {"rsa-1": {}}}', "answered JSON without a 'keys' list"),
    ],
)
async def test_a_key_set_that_cannot_be_read_is_one_log_line_naming_the_provider_and_why(idp, caplog, body, why):
    idp.jwks_body = body
    with caplog.at_level("WARNING", logger="pfmp.oidc"):
        assert await refusal_of(ent(idp), idp.token()) == "PROVIDER_KEYS_UNAVAILABLE"
    assert [r.getMessage() for r in caplog.records if r.name == "pfmp.oidc"] == [f"JWKS of ent {why}"]
