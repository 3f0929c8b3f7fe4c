"""OpenID Connect bearer tokens, signed with keys generated here and published by a loopback JWKS."""

import asyncio
import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from graph.settings import OidcProvider
from models.users import ExternalIdentity, User
from permissions import oidc
from permissions.remote import RemoteError
from tests.conftest import Api
from tests.identity.conftest import ACADEMIE_ISSUER, ENT_ISSUER, person_id

ME = "{ me { __typename fullName role } }"


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
    message = await refused(http, idp.token(sub="nobody-here"))
    assert "no account of this server is linked" in message
    assert await User.all().count() == users_before
    assert not await ExternalIdentity.exists(subject="nobody-here")


async def test_an_unverified_email_is_refused(http, idp):
    token = idp.academie_token(email="angelique.dupire@demo.pfmp.test", email_verified=False)
    assert "not verified" in await refused(http, token)


async def test_a_deactivated_account_is_refused(http, admin, teacher, idp):
    await link(admin, teacher.user, "jean.ent.42")
    await User.filter(id=teacher.user.id).update(is_active=False)
    assert "no account" in await refused(http, idp.token(sub="jean.ent.42"))


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
    assert ("expired" in message) is (case == "expired")


async def test_a_token_of_an_issuer_not_configured_is_refused(http, admin, teacher, idp):
    await link(admin, teacher.user, "jean.ent.42")
    message = await refused(http, idp.token(sub="jean.ent.42", iss="https://evil.example.test"))
    assert "does not accept" in message


async def test_a_token_signed_by_an_unknown_key_is_refused(http, admin, teacher, idp):
    # given: a key the provider never published, under a new key id and under the published one
    await link(admin, teacher.user, "jean.ent.42")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # then
    assert (
        await refused(http, idp.token(key=stranger, kid="rsa-unknown", sub="jean.ent.42"))
        == "The access token is not valid."
    )
    assert (
        await refused(http, idp.token(key=stranger, kid="rsa-1", sub="jean.ent.42")) == "The access token is not valid."
    )


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_refused(http, admin, teacher, idp, alg):
    await link(admin, teacher.user, "jean.ent.42")
    token = hand_made({"alg": alg, "typ": "JWT", "kid": "rsa-1"}, claims_for("jean.ent.42"), None)
    assert token.endswith(".")  # really unsigned
    await refused(http, token)


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
        await refused(http, token)


async def test_an_es256_token_for_an_rs256_provider_is_refused(http, admin, teacher, idp):
    await link(admin, teacher.user, "jean.ent.42")
    await refused(http, idp.token(key=idp.ec, kid="ec-1", alg="ES256", sub="jean.ent.42"))


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
        await refused(http, token)


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
    assert await refused(http, idp.token(sub="jean.ent.42")) == "The access token is not valid."
    # two keys and a token naming none: which one is meant is unknown
    idp.jwks_body = None
    assert await refused(http, idp.token(kid=None, sub="jean.ent.42")) == "The access token is not valid."
    # entries that are not objects or not signature keys are skipped; a key without "use" signs
    without_use = {k: v for k, v in rsa_jwk.items() if k != "use"}
    serve("rsa-3", {"kty": "oct", "kid": "oct-1", "k": "c2VjcmV0"}, {**without_use, "kid": "rsa-3"})
    assert (await Api(http, idp.token(kid="rsa-3", sub="jean.ent.42")).data(ME))["me"]
    # the one key of the set serves a token naming no key id, not a token naming another id
    assert (await Api(http, idp.token(kid=None, sub="jean.ent.42")).data(ME))["me"]
    assert await refused(http, idp.token(kid="rsa-4", sub="jean.ent.42")) == "The access token is not valid."
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
