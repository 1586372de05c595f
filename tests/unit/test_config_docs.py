"""Every setting is documented (ARCHITECTURE.md §5, after datasette's test_docs)."""

from pathlib import Path

import pytest

from bastide.config import Settings, load_settings
from bastide.errors import ConfigError

DOC = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_documented(name):
    assert f"`BASTIDE_{name.upper()}`" in DOC


def test_toml_file_is_read(tmp_path, monkeypatch):
    f = tmp_path / "b.toml"
    f.write_text('[bastide]\nduckdb_threads = 1\n')
    monkeypatch.setenv("BASTIDE_CONFIG_FILE", str(f))
    assert load_settings().duckdb_threads == 1


def test_bad_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("BASTIDE_DUCKDB_THREADS", "0")
    with pytest.raises(ConfigError, match="duckdb_threads"):
        load_settings()


def test_prod_refuses_embedded_defaults(tmp_path):
    with pytest.raises(ConfigError, match="PostgreSQL"):
        Settings(home=tmp_path, env="prod").check_production()
