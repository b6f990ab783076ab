"""What every `storybot` command shares: settings, logging, and domain errors as one line and an exit code.

No discord import, so the commands that never talk to Discord start fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import click

from index.errors import QuestionError, StorybotError

if TYPE_CHECKING:
    from bot.settings import Settings

EXIT_FAILURE = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(f"storybot: {message}", err=True)
    sys.exit(code)


@contextmanager
def errors_as_lines() -> Iterator[None]:
    """Domain errors end the command with one readable line, never a traceback."""
    try:
        yield
    except QuestionError as exc:
        fail(str(exc), EXIT_USAGE)
    except StorybotError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)


def settings_or_fail() -> Settings:
    from bot.settings import load_settings

    with errors_as_lines():
        return load_settings()


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for noisy in ("sentence_transformers", "transformers", "huggingface_hub", "faiss", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
