"""The server's start-up tuning of the garbage collector (graph/app.py, PFMP_GC_TUNING): once the app has
started, a raised generation-0 threshold and what start-up built frozen; turned off, CPython's defaults."""

import gc

import pytest

from graph.app import create_app
from graph.settings import ConfigError, load_settings
from tests.conftest import _settings

CPYTHON_DEFAULTS = (700, 10, 10)


@pytest.fixture
def collector():
    """CPython's collector as a fresh process has it, restored afterwards."""
    saved = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(*CPYTHON_DEFAULTS)
    yield
    gc.unfreeze()
    gc.set_threshold(*saved)


async def test_a_started_server_collects_less_often_and_leaves_its_start_up_objects_alone(
    collector, database_url, tmp_path
):
    # given an app built with the tuning on
    app = create_app(_settings(tmp_path, database_url, gc_tuning=True))
    assert gc.get_threshold() == CPYTHON_DEFAULTS and gc.get_freeze_count() == 0
    # when it has started
    async with app.router.lifespan_context(app):
        # then generation 0 is collected less often, and the objects built at start-up are frozen
        assert gc.get_threshold()[0] > CPYTHON_DEFAULTS[0]
        assert gc.get_freeze_count() > 0


async def test_turned_off_the_collector_keeps_cpythons_defaults(collector, database_url, tmp_path):
    app = create_app(_settings(tmp_path, database_url, gc_tuning=False))
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == CPYTHON_DEFAULTS
        assert gc.get_freeze_count() == 0


def test_the_served_process_tunes_unless_pfmp_gc_tuning_is_0(monkeypatch, tmp_path):
    monkeypatch.setenv("PFMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PFMP_ENV", "development")
    monkeypatch.delenv("PFMP_GC_TUNING", raising=False)
    assert load_settings().gc_tuning is True
    monkeypatch.setenv("PFMP_GC_TUNING", "0")
    assert load_settings().gc_tuning is False
    monkeypatch.setenv("PFMP_GC_TUNING", "sometimes")
    with pytest.raises(ConfigError, match="PFMP_GC_TUNING"):
        load_settings()
