"""Settings: the documentation is generated from the one table, and values are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, parse_settings, render_env_example, render_settings_table
from tests.helpers import REPO


def test_env_example_and_readme_table_match_the_settings() -> None:
    assert (REPO / ".env.example").read_text(encoding="utf-8") == render_env_example()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- settings-table -->\n", 1)[1].split("<!-- /settings-table -->", 1)[0]
    assert table == render_settings_table()


def test_runtime_and_model_cache_reach_the_engine() -> None:
    config = parse_settings(
        {"STORYBOT_EMBEDDING_RUNTIME": " Torch ", "STORYBOT_MODEL_CACHE_DIR": "/srv/models"}
    ).engine_config()
    assert (config.runtime, config.model_cache_dir) == ("torch", Path("/srv/models"))
    assert parse_settings({}).engine_config().runtime == "auto"


def test_an_unknown_runtime_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match=r"STORYBOT_EMBEDDING_RUNTIME.*auto, torch"):
        parse_settings({"STORYBOT_EMBEDDING_RUNTIME": "onnx-gpu"})
