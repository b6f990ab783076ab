"""Which trained heads storybot ships, and what identifies each one.

A head is a small adapter (LoRA weights and a task layer, safetensors with a JSON config) on the
bundled all-MiniLM-L6-v2: the base weights always come from the installed model package, so the
repository carries only a few MB. `head.json` beside the adapter says what the head computes and
how it was made (`python -m index.quality.train_heads`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from index.errors import ModelError

TASKS = {"sequence-classification": ("logits",), "question-answering": ("start_logits", "end_logits")}
"""What each kind of head computes from a pair: one relevance logit, or start and end logits per token."""
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "head.json")


@dataclass(frozen=True, slots=True)
class HeadSpec:
    """A shipped head: where its adapter is, what it computes, and a fingerprint of its files."""

    name: str
    folder: Path
    task: str
    max_length: int
    fingerprint: str
    meta: dict[str, Any]

    @property
    def outputs(self) -> tuple[str, ...]:
        return TASKS[self.task]


def shipped_folder(name: str) -> Path:
    return Path(str(resources.files("index.heads").joinpath("shipped", name)))


def head_spec(name: str, folder: Path | None = None) -> HeadSpec | None:
    """The head `name` as shipped (or in `folder`); None when it is not there (none was trained to ship)."""
    folder = folder or shipped_folder(name)
    if not all((folder / f).is_file() for f in ADAPTER_FILES):
        return None
    try:
        raw = json.loads((folder / "head.json").read_text(encoding="utf-8"))
        task, max_length = str(raw["task"]), int(raw["max_length"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the {name} head in {folder} is unreadable ({exc.__class__.__name__})") from None
    if task not in TASKS:
        raise ModelError(f"the {name} head in {folder} has an unknown task {task!r}")
    digest = hashlib.sha256()
    for file in ADAPTER_FILES:
        digest.update((folder / file).read_bytes())
    return HeadSpec(name, folder, task, max_length, digest.hexdigest()[:16], dict(raw.get("meta", {})))
