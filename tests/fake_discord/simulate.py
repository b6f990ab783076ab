"""Builders for what users do: typed command options, clicked components, modal answers.

They check inputs the way Discord's client would (unknown option, missing required option,
value outside choices/limits, unknown custom_id) so a test cannot send something a real
user could not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import payloads
from .cdn import Upload
from .world import CHANNEL_DM, World

JSON = dict[str, Any]

OPT_SUB, OPT_GROUP, OPT_STRING, OPT_INT, OPT_BOOL, OPT_USER = 1, 2, 3, 4, 5, 6
OPT_CHANNEL, OPT_ROLE, OPT_MENTIONABLE, OPT_NUMBER, OPT_ATTACHMENT = 7, 8, 9, 10, 11


def _find(defs: list[JSON], name: str, what: str) -> JSON:
    for d in defs:
        if d["name"] == name:
            return d
    raise ValueError(f"unknown {what} {name!r}; known: {[d['name'] for d in defs]}")


def _check_value(opt: JSON, value: Any) -> None:
    name = opt["name"]
    choices = opt.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise ValueError(f"option {name!r}: {value!r} is not one of the choices {[c['value'] for c in choices]}")
    if isinstance(value, str):
        if len(value) < opt.get("min_length", 0) or len(value) > opt.get("max_length", 6000):
            raise ValueError(f"option {name!r}: length {len(value)} outside the command's limits")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = opt.get("min_value"), opt.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"option {name!r}: {value} outside [{low}, {high}]")


class OptionBuilder:
    """Turns {name: value} into Discord's option list plus the resolved-data map.

    attach stores an uploaded file (an Upload, or a dict of its fields) on the fake's CDN and
    returns its attachment object; attachment options need it."""

    def __init__(
        self,
        world: World,
        guild_id: int | None,
        attach: Callable[[Upload | JSON], JSON] | None = None,
    ) -> None:
        self.world = world
        self.guild_id = guild_id
        self.attach = attach
        self.resolved: JSON = {}

    def _add_user(self, user_id: int) -> None:
        self.resolved.setdefault("users", {})[str(user_id)] = payloads.user_payload(self.world.user(user_id))
        guild = self.world.guilds.get(self.guild_id) if self.guild_id else None
        if guild is not None and user_id in guild.members:
            perms = self.world.permissions(guild.id, user_id)
            member = payloads.member_payload(guild.members[user_id], None, permissions=perms)
            self.resolved.setdefault("members", {})[str(user_id)] = member

    def _add_role(self, role_id: int) -> bool:
        guild = self.world.guilds.get(self.guild_id) if self.guild_id else None
        if guild is None or role_id not in guild.roles:
            return False
        self.resolved.setdefault("roles", {})[str(role_id)] = payloads.role_payload(guild.roles[role_id])
        return True

    def _convert(self, opt: JSON, value: Any) -> Any:
        otype = opt["type"]
        if otype == OPT_STRING:
            value = str(value)
        elif otype == OPT_INT:
            value = int(value)
        elif otype == OPT_NUMBER:
            value = float(value)
        elif otype == OPT_BOOL:
            value = bool(value)
        elif otype == OPT_USER:
            self._add_user(int(value))
            return str(int(value))
        elif otype == OPT_ROLE:
            if not self._add_role(int(value)):
                raise ValueError(f"option {opt['name']!r}: unknown role {value}")
            return str(int(value))
        elif otype == OPT_MENTIONABLE:
            if not self._add_role(int(value)):
                self._add_user(int(value))
            return str(int(value))
        elif otype == OPT_CHANNEL:
            channel = self.world.channel(int(value))
            if channel is None:
                raise ValueError(f"option {opt['name']!r}: unknown channel {value}")
            data = payloads.channel_payload(channel, self.world, permissions=0)
            self.resolved.setdefault("channels", {})[str(channel.id)] = data
            return str(channel.id)
        elif otype == OPT_ATTACHMENT:
            return self._attachment(value)
        _check_value(opt, value)
        return value

    def _attachment(self, value: Any) -> str:
        """value: an Upload (or dict of its fields); resolved.attachments gets its object."""
        if not isinstance(value, (Upload, dict)):
            raise ValueError(f"an attachment option takes an Upload, not {type(value).__name__}")
        if self.attach is None:
            raise ValueError("this builder cannot upload files")
        attachment = self.attach(value)
        self.resolved.setdefault("attachments", {})[attachment["id"]] = attachment
        return str(attachment["id"])

    def leaf(self, defs: list[JSON], values: dict[str, Any], focused: str | None = None) -> list[JSON]:
        options = []
        for name, value in values.items():
            opt = _find(defs, name, "option")
            if name == focused:
                # What the user has typed so far, always a string, marked focused.
                options.append({"name": name, "type": opt["type"], "value": str(value), "focused": True})
                continue
            options.append({"name": name, "type": opt["type"], "value": self._convert(opt, value)})
        if focused is not None:
            if focused not in values or not _find(defs, focused, "option").get("autocomplete"):
                raise ValueError(f"option {focused!r} must be given and have autocomplete enabled")
            return options
        missing = [d["name"] for d in defs if d.get("required") and d["name"] not in values]
        if missing:
            raise ValueError(f"missing required options {missing}")
        return options

    def build(self, command: JSON, path: list[str], values: dict[str, Any], focused: str | None = None) -> list[JSON]:
        """Options for `command` invoked as "/name *path" (path = subcommand group/subcommand)."""
        defs: list[JSON] = command.get("options") or []
        if not path:
            if any(d["type"] in (OPT_SUB, OPT_GROUP) for d in defs):
                raise ValueError(f"/{command['name']} needs a subcommand: {[d['name'] for d in defs]}")
            return self.leaf(defs, values, focused)
        head = _find(defs, path[0], "subcommand")
        if head["type"] not in (OPT_SUB, OPT_GROUP):
            raise ValueError(f"{path[0]!r} is an option of /{command['name']}, not a subcommand")
        inner = self.build({"name": head["name"], "options": head.get("options") or []}, path[1:], values, focused)
        return [{"name": head["name"], "type": head["type"], "options": inner}]


def find_component(components: list[JSON], custom_id: str) -> JSON | None:
    """Depth-first search through rows, containers, sections (accessory) and labels."""
    for comp in components:
        if comp.get("custom_id") == custom_id:
            return comp
        children: list[JSON] = list(comp.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(comp.get(key), dict):
                children.append(comp[key])
        found = find_component(children, custom_id)
        if found is not None:
            return found
    return None


def custom_ids(components: list[JSON]) -> list[str]:
    """All custom_ids in a component tree (for error messages)."""
    found: list[str] = []
    for comp in components:
        if comp.get("custom_id"):
            found.append(comp["custom_id"])
        children = list(comp.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(comp.get(key), dict):
                children.append(comp[key])
        found.extend(custom_ids(children))
    return found


def modal_submit_components(modal: JSON, values: dict[str, str]) -> list[JSON]:
    """The components array of a MODAL_SUBMIT, mirroring the modal's layout (rows or labels)."""
    result: list[JSON] = []
    unused = dict(values)
    for top in modal.get("components") or []:
        if top.get("type") == 1:
            inner = [
                {
                    "type": c["type"],
                    "id": c.get("id", 0),
                    "custom_id": c["custom_id"],
                    "value": unused.pop(c["custom_id"], ""),
                }
                for c in top.get("components") or []
                if c.get("custom_id")
            ]
            result.append({"type": 1, "id": top.get("id", 0), "components": inner})
        elif top.get("type") == 18 and isinstance(top.get("component"), dict):
            c = top["component"]
            sub: JSON = {"type": c["type"], "id": c.get("id", 0), "custom_id": c["custom_id"]}
            if c["type"] == 4:
                sub["value"] = unused.pop(c["custom_id"], "")
            else:
                raw: Any = unused.pop(c["custom_id"], [])
                sub["values"] = raw if isinstance(raw, list) else [raw]
            result.append({"type": 18, "id": top.get("id", 0), "component": sub})
    if unused:
        raise ValueError(f"modal has no inputs {sorted(unused)}")
    return result


def interaction_channel(world: World, channel_id: int, user_id: int) -> JSON:
    """The channel object inside an interaction (guild channels carry the user's permissions)."""
    channel = world.channel(channel_id)
    if channel is None:
        raise ValueError(f"unknown channel {channel_id}")
    if channel.type == CHANNEL_DM or channel.guild_id is None:
        return payloads.channel_payload(channel, world)
    return payloads.channel_payload(channel, world, permissions=world.permissions(channel.guild_id, user_id))
