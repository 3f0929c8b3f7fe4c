"""PFMP_OIDC_PROVIDERS and PFMP_CAS_*: read at start-up, refused with one line when they cannot work."""

import json
import os

import pytest

from graph.settings import ConfigError, load_settings

PROVIDER = {
    "name": "ent",
    "issuer": "https://ent.example.test/oidc",
    "audience": "pfmp-api",
    "jwks_url": "https://ent.example.test/jwks",
}

CODE_FLOW = {
    "client_id": "pfmp",
    "client_secret": "a secret",
    "redirect_url": "https://pfmp.example.test/auth/oidc/ent/callback",
}


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("PFMP_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("PFMP_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_everything_is_off_by_default(env):
    settings = load_settings()
    assert settings.oidc_providers == () and settings.cas_server_url is None
    assert settings.identity_providers == ()


def test_providers_and_cas_are_read(env):
    env.setenv(
        "PFMP_OIDC_PROVIDERS", json.dumps([PROVIDER | {"algorithms": ["ES256"], "claim": "email", "match": "email"}])
    )
    env.setenv("PFMP_CAS_SERVER_URL", "https://cas.example.test/cas/")
    env.setenv("PFMP_CAS_SERVICE_URL", "https://pfmp.example.test/cas")
    env.setenv("PFMP_CAS_ATTRIBUTE", "ENTPersonJointure")
    env.setenv("PFMP_CAS_TIMEOUT", "2.5")
    settings = load_settings()
    (provider,) = settings.oidc_providers
    assert (provider.algorithms, provider.claim, provider.match) == (("ES256",), "email", "email")
    assert settings.cas_server_url == "https://cas.example.test/cas"
    assert (settings.cas_attribute, settings.cas_timeout, settings.cas_protocol) == ("ENTPersonJointure", 2.5, "2")
    assert settings.identity_providers == ("ent", "cas")


def test_a_provider_without_jwks_url_or_with_a_client_is_read_from_its_discovery_document(env):
    # given
    keys_only = {"name": "a", "issuer": "https://a.example.test/oidc/", "audience": "pfmp-api"}
    client = {"name": "ent", "issuer": "https://ent.example.test/oidc"} | CODE_FLOW
    explicit = PROVIDER | {"name": "b", "issuer": "https://b.test", "discovery_url": "https://b.test/meta"}
    env.setenv(
        "PFMP_OIDC_PROVIDERS",
        json.dumps([keys_only, client, explicit, PROVIDER | {"name": "c", "issuer": "https://c.test"}]),
    )
    # when
    a, ent, b, c = load_settings().oidc_providers
    # then
    assert (a.discovery_url, a.jwks_url) == ("https://a.example.test/oidc/.well-known/openid-configuration", None)
    assert ent.discovery_url == "https://ent.example.test/oidc/.well-known/openid-configuration"
    assert ent.code_flow and ent.audience == "pfmp" and ent.scopes == ("openid",)
    assert b.discovery_url == "https://b.test/meta"
    assert (c.discovery_url, c.code_flow) == (None, False)  # keys at jwks_url, as before: no discovery
    assert "a secret" not in repr(ent)


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"PFMP_OIDC_PROVIDERS": "[{"}, "PFMP_OIDC_PROVIDERS is not valid JSON"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps(PROVIDER)}, "must be a JSON list"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([{"name": "ent"}])}, "missing key(s) audience, issuer"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | {"algorithms": ["HS256"]}])}, "algorithms must list some of"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | {"algorithms": ["none"]}])}, "algorithms must list some of"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | {"match": "name"}])}, "match must be one of"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | {"secret": "x"}])}, "unknown key(s) secret"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | {"issuer": "pfmp"}])}, "must differ from PFMP_TOKEN_ISSUER"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER, PROVIDER])}, "must differ from the other providers'"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | {"jwks_url": "file:///etc/keys"}])}, "must be an http(s) URL"),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | {"client_id": "pfmp"}])}, "client_id and redirect_url go"),
        (
            {"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | CODE_FLOW | {"client_secret": None}])},
            "client_secret must be a non-empty string",
        ),
        (
            {"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | CODE_FLOW | {"redirect_url": "https://p.test/back"}])},
            "redirect_url must be this server's address followed by /auth/oidc/ent/callback",
        ),
        (
            {"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | CODE_FLOW | {"scopes": ["email"]}])},
            "scopes must be a list of scopes including openid",
        ),
        ({"PFMP_CAS_SERVER_URL": "https://cas.example.test"}, "PFMP_CAS_SERVICE_URL is required"),
        (
            {
                "PFMP_CAS_SERVER_URL": "https://cas.example.test",
                "PFMP_CAS_SERVICE_URL": "https://s.test",
                "PFMP_CAS_TIMEOUT": "soon",
            },
            "PFMP_CAS_TIMEOUT must be a number of seconds",
        ),
        (
            {
                "PFMP_CAS_SERVER_URL": "https://cas.example.test",
                "PFMP_CAS_SERVICE_URL": "https://s.test",
                "PFMP_CAS_PROTOCOL": "1",
            },
            "PFMP_CAS_PROTOCOL must be 2 or 3",
        ),
        (
            {
                "PFMP_ENV": "production",
                "PFMP_TOKEN_SECRET": "s" * 40,
                "PFMP_CAS_SERVER_URL": "http://cas.example.test",
                "PFMP_CAS_SERVICE_URL": "https://s.test",
            },
            "PFMP_CAS_SERVER_URL must be an https:// URL",
        ),
    ],
)
def test_a_setting_that_cannot_work_stops_the_server(env, variables, message):
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


JIT = {
    "provision": True,
    "link_by_email": True,
    "profile_roles": {"National_ELV": "LEARNER", "National_ENS": "TEACHER"},
}


def test_just_in_time_rules_are_off_by_default_and_read_per_provider(env):
    # given
    env.setenv(
        "PFMP_OIDC_PROVIDERS",
        json.dumps([PROVIDER, PROVIDER | JIT | {"name": "b", "issuer": "https://b.test", "uai_claim": "uai"}]),
    )
    env.setenv("PFMP_CAS_SERVER_URL", "https://cas.example.test/cas")
    env.setenv("PFMP_CAS_SERVICE_URL", "https://pfmp.example.test/cas")
    env.setenv("PFMP_CAS_LINK_BY_EMAIL", "1")
    env.setenv("PFMP_CAS_EMAIL_CLAIM", "mail")
    # when
    settings = load_settings()
    off, b = settings.oidc_providers
    # then
    assert not off.provisioning.enabled
    assert (b.provisioning.provision, b.provisioning.link_by_email, b.provisioning.uai_claim) == (True, True, "uai")
    assert b.provisioning.role_of("National_ENS") == "TEACHER" and b.provisioning.role_of("National_DIR") is None
    assert b.provisioning.profile_claim == "ENTPersonProfils"
    cas = settings.cas_provisioning
    assert (cas.link_by_email, cas.provision, cas.email_claim) == (True, False, "mail")


@pytest.mark.parametrize(
    "variables, message",
    [
        (
            {"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | JIT | {"profile_roles": {"National_DIR": "ADMIN"}}])},
            "PFMP_OIDC_PROVIDERS[0].profile_roles: 'National_DIR' maps to 'ADMIN'; only LEARNER and TEACHER accounts "
            "are ever created from a provider's claims",
        ),
        (
            {
                "PFMP_CAS_SERVER_URL": "https://cas.example.test/cas",
                "PFMP_CAS_SERVICE_URL": "https://pfmp.example.test/cas",
                "PFMP_CAS_PROVISION": "1",
                "PFMP_CAS_PROFILE_ROLES": json.dumps({"National_TUT": "TUTOR"}),
            },
            "PFMP_CAS_PROFILE_ROLES: 'National_TUT' maps to 'TUTOR'; only LEARNER and TEACHER",
        ),
        ({"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | {"provision": True}])}, "provision needs"),
        (
            {"PFMP_OIDC_PROVIDERS": json.dumps([PROVIDER | JIT | {"claim": "email", "match": "email"}])},
            "need the match external_id",
        ),
    ],
)
def test_just_in_time_rules_that_cannot_hold_stop_the_server(env, variables, message):
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert message in str(refused.value)
