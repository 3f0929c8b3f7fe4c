"""Settings read from the environment, checked once at start-up.

Every knob is an environment variable documented in the README. A setting that
cannot work stops the server with a one-line reason (`ConfigError`) rather than
letting it start half-configured.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

MODEL_MODULES = [
    "models.schools",
    "models.users",
    "models.frameworks",
    "models.periods",
    "models.portfolios",
    "models.fiches",
    "models.bilans",
    "models.signin",
    "models.stamps",
    "models.allowance",
    "models.links",
    "models.idempotency",
    "models.audit",
]


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line for the operator."""


def _int_env(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _flag_env(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def normalize_database_url(url: str) -> str:
    """Tortoise names the asyncpg backend `postgres://`; accept the usual spellings."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix) :]
    return url


# Asymmetric signatures only: an HS* token could be forged with the provider's public key.
OIDC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
IDENTITY_MATCHES = ("external_id", "email")
# The only roles an identity provider's claims may give a new account: staff create the others (ADMIN, TUTOR, MASTER).
PROVISIONED_ROLES = ("LEARNER", "TEACHER")
CLAIM_KEYS = (
    "profile_claim",
    "uai_claim",
    "structure_claim",
    "given_name_claim",
    "family_name_claim",
    "email_claim",
)


@dataclass(frozen=True)
class Provisioning:
    """Just-in-time linking and provisioning for one identity provider (permissions/provisioning.py,
    docs/identity.md), both off by default: when the person the provider vouches for is linked to no account here,
    `link_by_email` links the account of the school their UAI claim names that their verified email names, and
    `provision` creates their account from their claims (role through `profile_roles`, LEARNER or TEACHER only)."""

    link_by_email: bool = False
    provision: bool = False
    # (profile value, role) pairs: e.g. ("National_ELV", "LEARNER"), ("National_ENS", "TEACHER").
    profile_roles: tuple[tuple[str, str], ...] = ()
    # Names of the claims (OIDC) or attributes (CAS) read; defaults: the ENT directory's attributes (SDET) for
    # the profile, the school's UAI and the classes, OpenID Connect's standard claims for names and email.
    profile_claim: str = "ENTPersonProfils"
    uai_claim: str = "ENTPersonStructRattachRNE"
    structure_claim: str = "ENTEleveClasses"
    given_name_claim: str = "given_name"
    family_name_claim: str = "family_name"
    email_claim: str = "email"

    @property
    def enabled(self) -> bool:
        return self.link_by_email or self.provision

    def role_of(self, profile: str) -> str | None:
        return next((role for value, role in self.profile_roles if value == profile), None)


def parse_provisioning(where: str, values: dict, match: str) -> Provisioning:
    """The just-in-time rules from their raw values (keys of Provisioning, as in PFMP_OIDC_PROVIDERS); ConfigError
    names what is wrong. `where` prefixes each key in the messages (`PFMP_OIDC_PROVIDERS[0].`, `PFMP_CAS_`)."""
    upper = where.endswith("_")

    def name(key: str) -> str:
        return f"{where}{key.upper() if upper else key}"

    for key in ("link_by_email", "provision"):
        if not isinstance(values.get(key, False), bool):
            raise ConfigError(f"{name(key)} must be true or false")
    for key in CLAIM_KEYS:
        if key in values and (not isinstance(values[key], str) or not values[key].strip()):
            raise ConfigError(f"{name(key)} must be a non-empty string")
    raw_roles = values.get("profile_roles", {})
    if not isinstance(raw_roles, dict) or not all(isinstance(k, str) and k.strip() for k in raw_roles):
        raise ConfigError(f"{name('profile_roles')} must be a JSON object from profile values to roles")
    for profile, role in raw_roles.items():
        if role not in PROVISIONED_ROLES:
            raise ConfigError(
                f"{name('profile_roles')}: {profile!r} maps to {role!r}; only LEARNER and TEACHER accounts are "
                "ever created from a provider's claims (ADMIN, TUTOR and MASTER accounts are created by staff)"
            )
    rules = Provisioning(
        link_by_email=values.get("link_by_email", False),
        provision=values.get("provision", False),
        profile_roles=tuple((profile.strip(), role) for profile, role in raw_roles.items()),
        **{key: values[key].strip() for key in CLAIM_KEYS if key in values},
    )
    if rules.provision and not rules.profile_roles:
        raise ConfigError(f"{name('provision')} needs {name('profile_roles')}: which profile becomes which role")
    if rules.enabled and match != "external_id":
        raise ConfigError(
            f"{name('link_by_email')} and {name('provision')} need the match external_id: the identity link "
            "they record is the person's identifier at the provider"
        )
    return rules


@dataclass(frozen=True)
class OidcProvider:
    """An OpenID Connect identity provider whose tokens the server accepts (PFMP_OIDC_PROVIDERS)."""

    name: str
    issuer: str
    audience: str
    # Keys: from `jwks_url` when given, else from the `jwks_uri` of the discovery document (`discovery_url`, by
    # default `<issuer>/.well-known/openid-configuration`), read at start-up and again when keys are refetched.
    jwks_url: str | None = None
    discovery_url: str | None = None
    # The authorization-code flow (graph/routes/oidc.py), on when client_id and redirect_url are set: this server
    # is then the provider's client; its ID tokens carry `aud` = client_id.
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    redirect_url: str | None = None
    post_logout_redirect_url: str | None = None
    scopes: tuple[str, ...] = ("openid",)
    algorithms: tuple[str, ...] = ("RS256",)
    # The claim that identifies the person, and how it maps to an account:
    # "external_id" = the user's external identity for this provider, "email" = the account's email.
    claim: str = "sub"
    match: str = "external_id"
    # When the person is linked to no account here: link by verified email, or create the account (off by default).
    provisioning: Provisioning = field(default_factory=Provisioning)
    # Seconds: JWKS kept this long; on an unknown key id refetched at most this often; fetch timeout; clock skew.
    jwks_cache_seconds: int = 3600
    jwks_min_refresh_seconds: int = 60
    timeout: float = 5.0
    leeway: int = 30

    @property
    def code_flow(self) -> bool:
        """Whether the server signs people in through this provider's authorization endpoint."""
        return bool(self.client_id and self.redirect_url)


@dataclass(frozen=True)
class S3Location:
    """An S3-compatible bucket for the annex files (PFMP_STORAGE_URL; resolvers/fiches/annex_store.py)."""

    bucket: str
    prefix: str
    endpoint: str
    region: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    environment: str
    data_dir: Path
    database_url: str
    annex_dir: Path
    token_secret: str
    token_lifetime: int
    token_issuer: str
    upload_limit: int
    request_body_limit: int
    cors_origins: tuple[str, ...]
    graphiql: bool
    demo_passwords: bool = field(default=False)
    # Schema introspection and the "Did you mean …?" hints of error messages (off in production by default).
    introspection: bool = field(default=True)
    # Sign-in through the school's identity providers (docs/identity.md); all off by default.
    oidc_providers: tuple[OidcProvider, ...] = field(default=())
    cas_server_url: str | None = field(default=None)
    cas_service_url: str | None = field(default=None)
    # CAS attribute naming the person (None: the CAS user itself), how it maps, and the provider name it is kept under.
    cas_attribute: str | None = field(default=None)
    cas_match: str = field(default="external_id")
    cas_provider: str = field(default="cas")
    cas_protocol: str = field(default="2")
    cas_timeout: float = field(default=5.0)
    # When the CAS person is linked to no account here: link by email, or create the account (off by default).
    cas_provisioning: Provisioning = field(default_factory=Provisioning)
    # Origins a browser sign-in (graph/routes/oidc.py) may send the person back to with their token; empty: the
    # CORS origins.
    signin_return_origins: tuple[str, ...] = field(default=())
    # Sign-in throttle (permissions/throttle.py): on unless PFMP_SIGNIN_THROTTLE=0; X-Forwarded-For is believed
    # only from these peers (PFMP_TRUSTED_PROXIES); the clock it reads, in seconds since the epoch.
    signin_throttle: bool = field(default=True)
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())
    clock: Callable[[], float] = field(default=time.time)
    # Seconds a refused sign-in waits before its answer, costing nothing but an open connection: a client that
    # waits for answers cannot then turn the refusals into a flood of cheap requests.
    signin_refusal_delay: float = field(default=1.0)
    # Seconds a refresh token works after it was issued (each refresh issues a new one): PFMP_REFRESH_TOKEN_LIFETIME.
    refresh_token_lifetime: int = field(default=30 * 24 * 3600)
    # Garbage collector tuned for a long-running server once started (graph/app.py). The served process turns it
    # on unless PFMP_GC_TUNING=0 (load_settings); apps built in-process (tests, bench) leave the collector alone.
    gc_tuning: bool = field(default=False)
    # Bytes of answers the response cache of the process keeps (graph/response_cache.py); 0 turns it off. The served
    # process keeps PFMP_RESPONSE_CACHE_MB (64 by default); apps built in-process (tests, bench) have it off.
    response_cache_bytes: int = field(default=0)
    # Where annex files live: None for the local folder `annex_dir`, else an S3-compatible bucket (PFMP_STORAGE_URL);
    # and how old an upload in flight or a file without a row must be before the start-up sweep removes it.
    storage: S3Location | None = field(default=None)
    storage_sweep_age: int = field(default=3600)
    # Automatic persisted queries (graph/persisted_queries.py): how many documents each process keeps by their hash
    # (PFMP_PERSISTED_QUERIES; 0 keeps none, so every hash alone answers PersistedQueryNotFound).
    persisted_queries: int = field(default=1000)
    # Seconds a signed download URL works (permissions/signed_urls.py, PFMP_SIGNED_URL_LIFETIME).
    signed_url_lifetime: int = field(default=300)

    @property
    def identity_providers(self) -> tuple[str, ...]:
        """Names under which users can carry an external identity."""
        names = tuple(p.name for p in self.oidc_providers)
        return names + ((self.cas_provider,) if self.cas_server_url else ())

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")


def _token_secret(environment: str, data_dir: Path) -> str:
    secret = os.environ.get("PFMP_TOKEN_SECRET", "")
    if secret:
        if len(secret) < 32:
            raise ConfigError("PFMP_TOKEN_SECRET must be at least 32 characters long")
        return secret
    if environment == "production":
        raise ConfigError("PFMP_TOKEN_SECRET is required when PFMP_ENV=production")
    # The embedded default keeps one generated secret in the data folder, so
    # tokens survive a restart and every worker process signs with the same key.
    path = data_dir / "token-secret"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker wrote it first
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _http_url(name: str, value: str, production: bool) -> str:
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    if production and not value.startswith("https://"):
        raise ConfigError(f"{name} must be an https:// URL when PFMP_ENV=production")
    return value


def _oidc_providers(own_issuer: str, production: bool) -> tuple[OidcProvider, ...]:
    raw = os.environ.get("PFMP_OIDC_PROVIDERS", "").strip()
    if not raw:
        return ()
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"PFMP_OIDC_PROVIDERS is not valid JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(entries, list):
        raise ConfigError("PFMP_OIDC_PROVIDERS must be a JSON list of providers")
    providers: list[OidcProvider] = []
    known = (set(OidcProvider.__dataclass_fields__) - {"provisioning"}) | set(Provisioning.__dataclass_fields__)
    for index, entry in enumerate(entries):
        where = f"PFMP_OIDC_PROVIDERS[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be an object")
        unknown = set(entry) - known
        missing = {"name", "issuer"} - set(entry)
        if "audience" not in entry and "client_id" not in entry:
            missing.add("audience")
        if unknown or missing:
            raise ConfigError(
                f"{where}: "
                + "; ".join(
                    ([f"unknown key(s) {', '.join(sorted(unknown))}"] if unknown else [])
                    + ([f"missing key(s) {', '.join(sorted(missing))}"] if missing else [])
                )
            )
        values = dict(entry)
        for key in (
            "name",
            "issuer",
            "audience",
            "jwks_url",
            "discovery_url",
            "client_id",
            "client_secret",
            "redirect_url",
            "post_logout_redirect_url",
            "claim",
            "match",
        ):
            if key in values and (not isinstance(values[key], str) or not values[key].strip()):
                raise ConfigError(f"{where}.{key} must be a non-empty string")
        algorithms = values.get("algorithms", ["RS256"])
        if isinstance(algorithms, str):
            algorithms = [algorithms]
        if not algorithms or any(a not in OIDC_ALGORITHMS for a in algorithms):
            raise ConfigError(f"{where}.algorithms must list some of {', '.join(OIDC_ALGORITHMS)}")
        values["algorithms"] = tuple(algorithms)
        if values.get("match", "external_id") not in IDENTITY_MATCHES:
            raise ConfigError(f"{where}.match must be one of {', '.join(IDENTITY_MATCHES)}")
        for key in ("jwks_cache_seconds", "jwks_min_refresh_seconds", "timeout", "leeway"):
            if key in values and (not isinstance(values[key], (int, float)) or values[key] < 0):
                raise ConfigError(f"{where}.{key} must be a number of seconds")
        scopes = values.get("scopes", ["openid"])
        if isinstance(scopes, str):
            scopes = scopes.split()
        if not isinstance(scopes, list) or "openid" not in scopes or not all(isinstance(x, str) for x in scopes):
            raise ConfigError(f"{where}.scopes must be a list of scopes including openid")
        values["scopes"] = tuple(scopes)
        values.setdefault("audience", values.get("client_id"))
        if bool(values.get("client_id")) != bool(values.get("redirect_url")):
            raise ConfigError(f"{where}: client_id and redirect_url go together (the authorization-code flow)")
        if values.get("client_id") and not values.get("client_secret"):
            raise ConfigError(f"{where}.client_secret is required with client_id")
        if not values.get("jwks_url") or values.get("client_id"):
            # Keys without a JWKS address, and the code flow's endpoints, come from the discovery document.
            values.setdefault("discovery_url", values["issuer"].rstrip("/") + "/.well-known/openid-configuration")
        for key in ("jwks_url", "discovery_url", "redirect_url", "post_logout_redirect_url"):
            if values.get(key):
                _http_url(f"{where}.{key}", values[key], production)
        callback = f"/auth/oidc/{values['name']}/callback"
        if values.get("redirect_url") and not values["redirect_url"].endswith(callback):
            raise ConfigError(f"{where}.redirect_url must be this server's address followed by {callback}")
        rules = {key: values.pop(key) for key in Provisioning.__dataclass_fields__ if key in values}
        values["provisioning"] = parse_provisioning(f"{where}.", rules, values.get("match", "external_id"))
        provider = OidcProvider(**values)
        if provider.issuer == own_issuer:
            raise ConfigError(f"{where}.issuer must differ from PFMP_TOKEN_ISSUER")
        if provider.name in {p.name for p in providers} or provider.issuer in {p.issuer for p in providers}:
            raise ConfigError(f"{where}: name and issuer must differ from the other providers'")
        providers.append(provider)
    return tuple(providers)


def _cas_settings(oidc: tuple[OidcProvider, ...], production: bool) -> dict:
    server = os.environ.get("PFMP_CAS_SERVER_URL", "").strip().rstrip("/")
    if not server:
        return {}
    service = os.environ.get("PFMP_CAS_SERVICE_URL", "").strip()
    if not service:
        raise ConfigError("PFMP_CAS_SERVICE_URL is required with PFMP_CAS_SERVER_URL")
    match = os.environ.get("PFMP_CAS_MATCH", "external_id").strip()
    if match not in IDENTITY_MATCHES:
        raise ConfigError(f"PFMP_CAS_MATCH must be one of {', '.join(IDENTITY_MATCHES)}")
    protocol = os.environ.get("PFMP_CAS_PROTOCOL", "2").strip()
    if protocol not in ("2", "3"):
        raise ConfigError("PFMP_CAS_PROTOCOL must be 2 or 3")
    name = os.environ.get("PFMP_CAS_PROVIDER", "cas").strip() or "cas"
    if name in {p.name for p in oidc}:
        raise ConfigError(f"PFMP_CAS_PROVIDER {name!r} is already the name of an OIDC provider")
    raw_timeout = os.environ.get("PFMP_CAS_TIMEOUT", "5")
    try:
        timeout = float(raw_timeout)
    except ValueError:
        raise ConfigError(f"PFMP_CAS_TIMEOUT must be a number of seconds, got {raw_timeout!r}") from None
    if not 0 < timeout <= 60:
        raise ConfigError("PFMP_CAS_TIMEOUT must be between 0 and 60 seconds")
    rules: dict = {
        key: _flag_env(f"PFMP_CAS_{key.upper()}", False)
        for key in ("link_by_email", "provision")
        if os.environ.get(f"PFMP_CAS_{key.upper()}", "").strip()
    }
    for key in CLAIM_KEYS:
        if os.environ.get(f"PFMP_CAS_{key.upper()}", "").strip():
            rules[key] = os.environ[f"PFMP_CAS_{key.upper()}"].strip()
    raw_roles = os.environ.get("PFMP_CAS_PROFILE_ROLES", "").strip()
    if raw_roles:
        try:
            rules["profile_roles"] = json.loads(raw_roles)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"PFMP_CAS_PROFILE_ROLES is not valid JSON ({exc.msg}, column {exc.colno})") from None
    return dict(
        cas_provisioning=parse_provisioning("PFMP_CAS_", rules, match),
        cas_server_url=_http_url("PFMP_CAS_SERVER_URL", server, production),
        cas_service_url=_http_url("PFMP_CAS_SERVICE_URL", service, production),
        cas_attribute=os.environ.get("PFMP_CAS_ATTRIBUTE", "").strip() or None,
        cas_match=match,
        cas_provider=name,
        cas_protocol=protocol,
        cas_timeout=timeout,
    )


def _switch(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def _trusted_proxies() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for entry in os.environ.get("PFMP_TRUSTED_PROXIES", "").split(","):
        if entry.strip():
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigError(f"PFMP_TRUSTED_PROXIES: {entry.strip()!r} is not an address or CIDR") from None
    return tuple(networks)


def _writable_dir(name: str, path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{name} {path} is not a writable folder ({exc.strerror})") from None
    return path.resolve()


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_STORAGE_KEYS = ("endpoint", "region", "access_key_id", "secret_access_key", "session_token")


def parse_storage_url(raw: str, environ: dict[str, str] | None = None) -> S3Location | None:
    """PFMP_STORAGE_URL: empty for the local folder, or `s3://bucket[/prefix][?endpoint=…&region=…]`. Credentials
    come from the URL's query (access_key_id, secret_access_key, session_token) or else from AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; the region from the query, AWS_REGION or AWS_DEFAULT_REGION."""
    env = os.environ if environ is None else environ
    raw = raw.strip()
    if not raw:
        return None
    name = "PFMP_STORAGE_URL"
    try:
        parts = urlsplit(raw)
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError:
        raise ConfigError(f"{name} is not a URL") from None
    if parts.scheme != "s3":
        raise ConfigError(f"{name} must be s3://bucket[/prefix]?endpoint=…&region=… (or empty for the local folder)")
    bucket = parts.netloc
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ConfigError(f"{name}: {bucket!r} is not a bucket name (3 to 63 lowercase letters, digits, dots, hyphens)")
    unknown = sorted(set(query) - set(_STORAGE_KEYS))
    if unknown:
        raise ConfigError(f"{name}: unknown parameter(s) {', '.join(unknown)} (known: {', '.join(_STORAGE_KEYS)})")
    endpoint = query.get("endpoint", env.get("AWS_ENDPOINT_URL", "")).strip()
    if endpoint:
        point = urlsplit(endpoint)
        if point.scheme not in ("http", "https") or not point.hostname or point.path.strip("/"):
            raise ConfigError(f"{name}: endpoint must be http(s)://host[:port], got {endpoint!r}")
    region = query.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    key_id = query.get("access_key_id") or env.get("AWS_ACCESS_KEY_ID", "")
    secret = query.get("secret_access_key") or env.get("AWS_SECRET_ACCESS_KEY", "")
    if not key_id or not secret:
        raise ConfigError(
            f"{name} needs credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or access_key_id and "
            "secret_access_key in its query)"
        )
    return S3Location(
        bucket=bucket,
        prefix=parts.path.strip("/"),
        endpoint=endpoint.rstrip("/"),
        region=region,
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=query.get("session_token") or env.get("AWS_SESSION_TOKEN", ""),
    )


def load_settings() -> Settings:
    environment = os.environ.get("PFMP_ENV", "development").strip().lower()
    if environment not in ("development", "production"):
        raise ConfigError(f"PFMP_ENV must be 'development' or 'production', got {environment!r}")
    data_dir = _writable_dir("PFMP_DATA_DIR", Path(os.environ.get("PFMP_DATA_DIR") or "data"))
    annex_dir = _writable_dir("PFMP_ANNEX_DIR", Path(os.environ.get("PFMP_ANNEX_DIR") or data_dir / "annexes"))
    database_url = normalize_database_url(os.environ.get("DATABASE_URL") or f"sqlite://{data_dir / 'pfmp.sqlite3'}")
    if not database_url.startswith(("sqlite://", "postgres://")):
        raise ConfigError("DATABASE_URL must start with sqlite:// or postgres:// (postgresql:// is accepted)")
    upload_limit = _int_env("PFMP_UPLOAD_LIMIT", 20 * 1024 * 1024)
    origins = tuple(o.strip() for o in os.environ.get("PFMP_CORS_ORIGINS", "").split(",") if o.strip())
    graphiql_raw = os.environ.get("PFMP_GRAPHIQL", "")
    graphiql = (graphiql_raw.lower() in ("1", "true", "yes", "on")) if graphiql_raw else environment != "production"
    introspection = _flag_env("PFMP_INTROSPECTION", default=environment != "production")
    token_issuer = os.environ.get("PFMP_TOKEN_ISSUER", "pfmp")
    oidc_providers = _oidc_providers(token_issuer, environment == "production")
    return Settings(
        environment=environment,
        data_dir=data_dir,
        database_url=database_url,
        annex_dir=annex_dir,
        token_secret=_token_secret(environment, data_dir),
        token_lifetime=_int_env("PFMP_TOKEN_LIFETIME", 8 * 3600, minimum=60),
        refresh_token_lifetime=_int_env("PFMP_REFRESH_TOKEN_LIFETIME", 30 * 24 * 3600, minimum=60),
        token_issuer=token_issuer,
        upload_limit=upload_limit,
        # The multipart envelope (operations, map, boundaries) adds a little to the file itself.
        request_body_limit=upload_limit + 256 * 1024,
        cors_origins=origins,
        graphiql=graphiql,
        introspection=introspection,
        oidc_providers=oidc_providers,
        signin_return_origins=tuple(
            o.strip().rstrip("/") for o in os.environ.get("PFMP_SIGNIN_RETURN_ORIGINS", "").split(",") if o.strip()
        ),
        signin_throttle=_switch("PFMP_SIGNIN_THROTTLE", True),
        trusted_proxies=_trusted_proxies(),
        gc_tuning=_switch("PFMP_GC_TUNING", True),
        response_cache_bytes=_int_env("PFMP_RESPONSE_CACHE_MB", 64, minimum=0) * 1024 * 1024,
        storage=parse_storage_url(os.environ.get("PFMP_STORAGE_URL", "")),
        storage_sweep_age=_int_env("PFMP_STORAGE_SWEEP_AGE", 3600, minimum=60),
        persisted_queries=_int_env("PFMP_PERSISTED_QUERIES", 1000, minimum=0),
        signed_url_lifetime=_int_env("PFMP_SIGNED_URL_LIFETIME", 300, minimum=10),
        **_cas_settings(oidc_providers, environment == "production"),
    )


def tortoise_config(database_url: str) -> dict:
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Read by Tortoise's own CLI (`tortoise makemigrations`, see [tool.tortoise]).
TORTOISE_ORM = tortoise_config(normalize_database_url(os.environ.get("DATABASE_URL") or "sqlite://data/pfmp.sqlite3"))
