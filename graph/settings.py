"""Settings read from the environment, checked once at start-up.

Every knob is an environment variable documented in the README. A setting that
cannot work stops the server with a one-line reason (`ConfigError`) rather than
letting it start half-configured.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

MODEL_MODULES = [
    "models.schools",
    "models.users",
    "models.frameworks",
    "models.periods",
    "models.portfolios",
    "models.fiches",
    "models.bilans",
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


def normalize_database_url(url: str) -> str:
    """Tortoise names the asyncpg backend `postgres://`; accept the usual spellings."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix):]
    return url


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


def _writable_dir(name: str, path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{name} {path} is not a writable folder ({exc.strerror})") from None
    return path.resolve()


def load_settings() -> Settings:
    environment = os.environ.get("PFMP_ENV", "development").strip().lower()
    if environment not in ("development", "production"):
        raise ConfigError(f"PFMP_ENV must be 'development' or 'production', got {environment!r}")
    data_dir = _writable_dir("PFMP_DATA_DIR", Path(os.environ.get("PFMP_DATA_DIR") or "data"))
    annex_dir = _writable_dir(
        "PFMP_ANNEX_DIR", Path(os.environ.get("PFMP_ANNEX_DIR") or data_dir / "annexes")
    )
    database_url = normalize_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite://{data_dir / 'pfmp.sqlite3'}"
    )
    if not database_url.startswith(("sqlite://", "postgres://")):
        raise ConfigError(
            "DATABASE_URL must start with sqlite:// or postgres:// (postgresql:// is accepted)"
        )
    upload_limit = _int_env("PFMP_UPLOAD_LIMIT", 20 * 1024 * 1024)
    origins = tuple(o.strip() for o in os.environ.get("PFMP_CORS_ORIGINS", "").split(",") if o.strip())
    graphiql_raw = os.environ.get("PFMP_GRAPHIQL", "")
    graphiql = (graphiql_raw.lower() in ("1", "true", "yes", "on")) if graphiql_raw else environment != "production"
    return Settings(
        environment=environment,
        data_dir=data_dir,
        database_url=database_url,
        annex_dir=annex_dir,
        token_secret=_token_secret(environment, data_dir),
        token_lifetime=_int_env("PFMP_TOKEN_LIFETIME", 8 * 3600, minimum=60),
        token_issuer=os.environ.get("PFMP_TOKEN_ISSUER", "pfmp"),
        upload_limit=upload_limit,
        # The multipart envelope (operations, map, boundaries) adds a little to the file itself.
        request_body_limit=upload_limit + 256 * 1024,
        cors_origins=origins,
        graphiql=graphiql,
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
TORTOISE_ORM = tortoise_config(
    normalize_database_url(os.environ.get("DATABASE_URL") or "sqlite://data/pfmp.sqlite3")
)
