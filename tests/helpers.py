"""Plain helpers shared by tests, fixtures and child-process scripts: paths, the run's model cache, story files.

Importable anywhere (no fixtures, no pytest hooks). Test doubles live in tests/doubles.py.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO / "corpus"

MODEL_CACHE = Path(tempfile.mkdtemp(prefix="storybot-test-models-"))
"""One model cache for the whole run, so storybot processes export the ONNX copy only once."""
atexit.register(shutil.rmtree, MODEL_CACHE, True)


def unmarked(text: str) -> str:
    """Card or CLI text without the bold that marks the answer words (marked only when the reader is sure)."""
    return text.replace("**", "")


def write_story(folder: Path, name: str, body: str, title: str | None = None) -> Path:
    """`folder/name` holding `body`, with a front-matter title if one is given."""
    folder.mkdir(parents=True, exist_ok=True)
    header = f"---\ntitle: {title}\n---\n" if title else ""
    path = folder / name
    path.write_text(header + body, encoding="utf-8")
    return path
