"""PFMP_SIGNIN_THROTTLE and PFMP_TRUSTED_PROXIES: read at start-up, refused with one line when wrong."""

import ipaddress
import os

import pytest

from graph.settings import ConfigError, load_settings


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("PFMP_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("PFMP_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_the_throttle_is_on_and_no_proxy_is_trusted_by_default(env):
    settings = load_settings()
    assert settings.signin_throttle is True and settings.trusted_proxies == ()


def test_the_throttle_can_be_turned_off_and_proxies_trusted(env):
    env.setenv("PFMP_SIGNIN_THROTTLE", "0")
    env.setenv("PFMP_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.4,2001:db8::/32")
    settings = load_settings()
    assert settings.signin_throttle is False
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.4/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("PFMP_SIGNIN_THROTTLE", "maybe"),
        ("PFMP_TRUSTED_PROXIES", "proxy.local"),
        ("PFMP_TRUSTED_PROXIES", "10.0.0.0/33"),
    ],
)
def test_a_wrong_value_stops_the_start_with_one_line(env, name, value):
    env.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert name in str(refused.value) and "\n" not in str(refused.value)
