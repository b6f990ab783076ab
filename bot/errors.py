"""Refusals that commands raise and the command tree answers: their text is written to be shown."""

from __future__ import annotations

from discord import app_commands

from bot import render


class UserFacingError(app_commands.AppCommandError):
    """An expected refusal whose text is safe to show; answered ephemerally by the tree."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class NotAdmin(app_commands.CheckFailure, UserFacingError):
    """The user may not run an admin command here."""

    def __init__(self) -> None:
        UserFacingError.__init__(self, render.NOT_ADMIN_TEXT)


class NotAllowed(app_commands.CheckFailure, UserFacingError):
    """The user may not change these stories (or rebuild this server's index) here; the text says who may."""

    def __init__(self, text: str) -> None:
        UserFacingError.__init__(self, text)
