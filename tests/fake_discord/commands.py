"""Application command registry, behaving like Discord's commands endpoints.

Commands persist across bot restarts (as on Discord), keep their id when overwritten with
the same name and type, and are looked up by the fake when a test "types" a command.
"""

from __future__ import annotations

from typing import Any

from .payloads import command_payload
from .world import SnowflakeGenerator

JSON = dict[str, Any]


class CommandRegistry:
    """Global and per-guild command lists, as Discord stores them."""

    def __init__(self, snowflakes: SnowflakeGenerator, application_id: int) -> None:
        self.snowflakes = snowflakes
        self.application_id = application_id
        self.global_commands: list[JSON] = []
        self.guild_commands: dict[int, list[JSON]] = {}

    def scope(self, guild_id: int | None) -> list[JSON]:
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.setdefault(guild_id, [])

    def _build(self, definition: JSON, guild_id: int | None, existing: JSON | None) -> JSON:
        command_id = int(existing["id"]) if existing else self.snowflakes.next()
        return command_payload(
            definition,
            command_id=command_id,
            application_id=self.application_id,
            guild_id=guild_id,
            version=self.snowflakes.next(),
        )

    @staticmethod
    def _key(cmd: JSON) -> tuple[int, str]:
        return int(cmd.get("type", 1)), str(cmd["name"])

    def overwrite(self, guild_id: int | None, definitions: list[JSON]) -> list[JSON]:
        """PUT: replace the whole list, keeping ids of commands that survive."""
        old = {self._key(c): c for c in self.scope(guild_id)}
        new = [self._build(d, guild_id, old.get(self._key(d))) for d in definitions]
        self.scope(guild_id)[:] = new
        return new

    def upsert(self, guild_id: int | None, definition: JSON) -> tuple[JSON, bool]:
        """POST: create, or replace the command with the same name and type."""
        commands = self.scope(guild_id)
        for i, cmd in enumerate(commands):
            if self._key(cmd) == self._key(definition):
                commands[i] = self._build(definition, guild_id, cmd)
                return commands[i], False
        cmd = self._build(definition, guild_id, None)
        commands.append(cmd)
        return cmd, True

    def get(self, guild_id: int | None, command_id: int) -> JSON | None:
        return next((c for c in self.scope(guild_id) if int(c["id"]) == command_id), None)

    def edit(self, guild_id: int | None, command_id: int, changes: JSON) -> JSON | None:
        commands = self.scope(guild_id)
        for i, cmd in enumerate(commands):
            if int(cmd["id"]) == command_id:
                merged = {**cmd, **changes}
                commands[i] = self._build(merged, guild_id, cmd)
                return commands[i]
        return None

    def delete(self, guild_id: int | None, command_id: int) -> bool:
        commands = self.scope(guild_id)
        before = len(commands)
        commands[:] = [c for c in commands if int(c["id"]) != command_id]
        return len(commands) != before

    def find(self, name: str, guild_id: int | None, command_type: int = 1) -> JSON | None:
        """The command a user in guild_id (or a DM) would see under that name; guild ones first."""
        scopes = ([self.guild_commands.get(guild_id, [])] if guild_id is not None else []) + [self.global_commands]
        for commands in scopes:
            for cmd in commands:
                if cmd["name"] == name and int(cmd.get("type", 1)) == command_type:
                    return cmd
        return None
