"""Sign-in (login, me) and every way a token is refused."""

import time

import jwt
import pytest

from models.users import Role, User
from resolvers.demo import DEMO_PASSWORD
from tests.conftest import DEMO_EMAIL, TOKEN_SECRET, Api, token_for

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    token expiresAt user { __typename fullName role }
    errors { field code reason message }
  }
}"""

ME = "{ me { __typename fullName role } }"


async def test_login_answers_a_token_that_signs_the_next_requests(anonymous, http):
    # given the demo teacher's credentials
    # when they sign in
    data = await anonymous.data(LOGIN, email="Professeur@demo.pfmp.test", password=DEMO_PASSWORD)
    payload = data["login"]
    # then the token is a JWT with the documented claims, and it works
    assert payload["errors"] == []
    assert payload["user"] == {"__typename": "Teacher", "fullName": "Claire MARTIN", "role": "TEACHER"}
    claims = jwt.decode(payload["token"], TOKEN_SECRET, algorithms=["HS256"], audience="pfmp-api")
    assert {"sub", "role", "school", "iat", "exp", "ver"} <= set(claims)
    assert claims["role"] == "TEACHER"
    me = await Api(http, payload["token"]).data(ME)
    assert me["me"]["fullName"] == "Claire MARTIN"


async def test_wrong_email_and_wrong_password_get_the_same_answer(anonymous):
    wrong_password = (await anonymous.data(LOGIN, email="professeur@demo.pfmp.test", password="not the one"))["login"]
    wrong_email = (await anonymous.data(LOGIN, email="nobody@demo.pfmp.test", password=DEMO_PASSWORD))["login"]
    assert wrong_password == wrong_email
    assert wrong_password["token"] is None
    assert wrong_password["errors"] == [
        {
            "field": None,
            "code": "INVALID",
            "reason": "CREDENTIALS_WRONG",
            "message": "Adresse e-mail ou mot de passe incorrect.",
        }
    ]


async def test_the_signed_in_learner_in_the_login_answer_shows_no_guarded_field(anonymous):
    # given a learner signing in: the request itself carries no token, so nobody is signed in yet
    learner = DEMO_EMAIL[Role.LEARNER]
    query = """mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) {
      user { ... on Learner { freeFiches { id } dashboard { __typename } interimReviews { id } } } } }"""
    # when the answer asks for the learner's dashboard, free fiches and reviews
    data = await anonymous.data(query, email=learner, password=DEMO_PASSWORD)
    # then they are null, as access.md answers a field nobody here may read, and no error is raised
    assert data["login"]["user"] == {"freeFiches": None, "dashboard": None, "interimReviews": None}


async def test_an_inactive_account_cannot_sign_in(anonymous):
    await User.filter(email="professeur@demo.pfmp.test").update(is_active=False)
    payload = (await anonymous.data(LOGIN, email="professeur@demo.pfmp.test", password=DEMO_PASSWORD))["login"]
    assert payload["token"] is None and payload["errors"][0]["code"] == "INVALID"


async def test_no_token_is_unauthenticated(anonymous):
    assert await anonymous.error_code(ME) == "UNAUTHENTICATED"


MALFORMED = "The Authorization header must be 'Bearer <token>'."


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Token abc", MALFORMED),
        ("Bearer", MALFORMED),
        ("Bearer    ", MALFORMED),
        ("Basic dXNlcjpwYXNz", MALFORMED),
        ("bearer not-a-jwt", "The access token is not valid."),  # the scheme in any case
        ("Bearer not a jwt", "The access token is not valid."),  # all after the first space is the token
    ],
)
async def test_a_malformed_authorization_header_is_unauthenticated(http, header, message):
    response = await http.post(
        "/graphql", json={"query": ME}, headers={"Authorization": header, "Accept-Language": "en"}
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == message
    assert body["data"] is None


async def test_an_expired_token_is_unauthenticated(http, settings):
    user = await User.get(email="professeur@demo.pfmp.test")
    token = token_for(user, settings, now=int(time.time()) - 7200, lifetime=60)
    body = await Api(http, token, language="en").execute(ME)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]


async def test_a_token_signed_with_another_secret_is_unauthenticated(http, settings):
    user = await User.get(email="professeur@demo.pfmp.test")
    token = token_for(user, settings, secret="another-secret-" + "y" * 40)
    assert await Api(http, token).error_code(ME) == "UNAUTHENTICATED"


async def test_an_unsigned_token_is_unauthenticated(http):
    user = await User.get(email="admin@demo.pfmp.test")
    now = int(time.time())
    claims = {
        "sub": str(user.id),
        "role": "ADMIN",
        "school": user.school_id,
        "ver": 1,
        "iat": now,
        "exp": now + 600,
        "iss": "pfmp",
        "aud": "pfmp-api",
    }
    token = jwt.encode(claims, key=None, algorithm="none")
    assert await Api(http, token).error_code(ME) == "UNAUTHENTICATED"


async def test_a_token_without_exp_is_unauthenticated(http):
    user = await User.get(email="admin@demo.pfmp.test")
    claims = {
        "sub": str(user.id),
        "role": "ADMIN",
        "school": user.school_id,
        "ver": 1,
        "iat": int(time.time()),
        "iss": "pfmp",
        "aud": "pfmp-api",
    }
    token = jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")
    assert await Api(http, token).error_code(ME) == "UNAUTHENTICATED"


async def test_bumping_the_token_version_revokes_every_token(teacher, http, settings):
    # given two tokens of the same teacher
    other = Api(http, token_for(teacher.user, settings))
    assert (await other.data(ME))["me"]["role"] == "TEACHER"
    # when the teacher signs out everywhere
    data = await teacher.data("mutation { signOutEverywhere { revoked errors { code } } }")
    assert data["signOutEverywhere"] == {"revoked": True, "errors": []}
    # then both tokens are refused
    assert await teacher.error_code(ME) == "UNAUTHENTICATED"
    assert await other.error_code(ME) == "UNAUTHENTICATED"
    # and a fresh token (new version) works
    fresh = Api(http, token_for(await User.get(id=teacher.user.id), settings))
    assert (await fresh.data(ME))["me"]["role"] == "TEACHER"


async def test_a_token_of_a_deactivated_account_is_refused(teacher):
    await User.filter(id=teacher.user.id).update(is_active=False)
    assert await teacher.error_code(ME) == "UNAUTHENTICATED"


async def test_passwords_are_stored_as_argon2_hashes(app):
    user = await User.get(email="professeur@demo.pfmp.test")
    assert user.password_hash.startswith("$argon2id$")
    assert DEMO_PASSWORD not in user.password_hash


def _claims(user: User, **changes) -> dict:
    now = int(time.time())
    claims = {
        "sub": str(user.id),
        "role": user.role.value,
        "school": user.school_id,
        "ver": user.token_version,
        "iat": now,
        "exp": now + 600,
        "iss": "pfmp",
        "aud": "pfmp-api",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "another-server"},  # signed with our secret, but issued for another deployment
        {"aud": "another-api"},  # meant for another service
        {"iss": None},
        {"aud": None},
        {"iat": None},
        {"sub": None},
        {"ver": None},
        {"sub": "not-a-number"},
        {"ver": "not-a-number"},
        {"sub": [1]},
        {"lnk": "not-a-number"},  # a trainer link's id
        {"ses": "not-a-number"},  # a provider session's id
    ],
    ids=lambda changes: ",".join(f"{k}={v}" for k, v in changes.items()),
)
async def test_a_token_with_a_wrong_or_missing_claim_is_unauthenticated(http, settings, changes):
    # given a token signed with the server's own secret and algorithm, every claim right but one
    user = await User.get(email="professeur@demo.pfmp.test")
    assert settings.token_issuer == "pfmp"
    good = jwt.encode(_claims(user), settings.token_secret, algorithm="HS256")
    assert (await Api(http, good).data(ME))["me"]["role"] == "TEACHER"
    token = jwt.encode(_claims(user, **changes), settings.token_secret, algorithm="HS256")
    # then it signs nobody in, and says so as for any bad token
    body = await Api(http, token, language="en").execute(ME)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "The access token is not valid."


async def test_an_expired_token_is_told_apart_from_a_forged_one(http, settings):
    user = await User.get(email="professeur@demo.pfmp.test")
    now = int(time.time())
    expired = jwt.encode(_claims(user, iat=now - 7200, exp=now - 3600), settings.token_secret, algorithm="HS256")
    body = await Api(http, expired, language="en").execute(ME)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "The access token has expired."
    forged = jwt.encode(_claims(user), "another-secret-" + "y" * 40, algorithm="HS256")
    assert (await Api(http, forged, language="en").execute(ME))["errors"][0]["message"] == (
        "The access token is not valid."
    )
    # in French without Accept-Language
    assert (await Api(http, expired).execute(ME))["errors"][0]["message"] == "Le jeton d'accès a expiré."
    assert (await Api(http, forged).execute(ME))["errors"][0]["message"] == "Le jeton d'accès n'est pas valide."
