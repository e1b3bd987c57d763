"""Where things are, and the Dagster home every entry point is given."""

from __future__ import annotations

from superstore_assets.engine.project import PACKAGE_DIR, settle_exported_home


def test_an_exported_home_without_settings_is_given_the_projects(tmp_path, monkeypatch):
    monkeypatch.delenv("SUPERSTORE_PROFILE", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    settle_exported_home()
    assert (tmp_path / "dagster.yaml").read_text() == (PACKAGE_DIR / "dagster.yaml").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["dagster.yaml"]  # no temporary left behind


def test_a_homes_own_settings_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    settle_exported_home()
    assert (tmp_path / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_a_moved_module_is_followed_in_an_exported_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text(
        "event_log_storage:\n  module: superstore_assets.eventlog\n"
        "  class: PooledSqliteEventLogStorage\n"
    )
    settle_exported_home()
    assert "module: superstore_assets.engine.eventlog\n" in (tmp_path / "dagster.yaml").read_text()


def test_nothing_is_written_without_an_exported_home_or_a_usable_profile(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    settle_exported_home()
    assert list(tmp_path.iterdir()) == []

    missing = tmp_path / "not-made"
    monkeypatch.setenv("DAGSTER_HOME", str(missing))
    settle_exported_home()
    assert not missing.exists()  # Dagster makes its home; this only fills one in

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("SUPERSTORE_PROFILE", "team")
    monkeypatch.delenv("SUPERSTORE_POSTGRES_URL", raising=False)
    settle_exported_home()
    assert list(tmp_path.iterdir()) == []  # the team's settings would not open without the URL
