"""Discord's rules for application command definitions and autocomplete answers.

Checked when the bot registers commands (bulk overwrite, create, edit) and when it answers an
autocomplete interaction; errors come back in Discord's nested 50035 shape. Error codes are
Discord's where its answers are known (BASE_TYPE_*, APPLICATION_COMMAND_OPTIONS_TYPE_INVALID,
APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID, ...); the rest follow the same naming.
"""

from __future__ import annotations

import re
from typing import Any

from .validation import Errors

JSON = dict[str, Any]

SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER = 1, 2, 3, 4, 5, 6
CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 7, 8, 9, 10, 11
OPTION_TYPES = frozenset(range(1, 12))
CHOICE_TYPES = frozenset({STRING, INTEGER, NUMBER})
"""Option types that may have choices or autocomplete."""
MAX_COMMAND_OPTIONS = 25
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_STRING = 100
MAX_COMMAND_SIZE = 8000
"""Characters of names, descriptions and choice values across a command and its options."""
MAX_SAFE_INTEGER = 2**53
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
MIXED_TYPES = "Sub-command and sub-command group option types are mutually exclusive to all other types"


def _is_name(name: str) -> bool:
    return bool(COMMAND_NAME.match(name)) and name == name.lower()


def check_choice(choice: Any, option_type: int | None, path: list[str | int], errors: Errors) -> None:
    """One choice ({name, value}) of an option definition or of an autocomplete answer."""
    if not isinstance(choice, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    name = choice.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_CHOICE_NAME:
        errors.add([*path, "name"], "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CHOICE_NAME} in length.")
    value = choice.get("value")
    if value is None:
        errors.required([*path, "value"])
    elif option_type == STRING and not isinstance(value, str):
        errors.add([*path, "value"], "STRING_TYPE_CONVERT", f'Could not interpret "{value}" as string.')
    elif isinstance(value, str) and len(value) > MAX_CHOICE_STRING:
        errors.too_long([*path, "value"], MAX_CHOICE_STRING)
    elif option_type == INTEGER and (
        not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_SAFE_INTEGER
    ):
        errors.add([*path, "value"], "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
    elif option_type == NUMBER and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        errors.add([*path, "value"], "NUMBER_TYPE_COERCE", f'Value "{value}" is not a valid number.')


def _check_option(opt: JSON, path: list[str | int], errors: Errors) -> None:
    """Fields of one option that do not depend on its neighbours."""
    name = str(opt.get("name", ""))
    otype = opt.get("type")
    if not _is_name(name):
        errors.add([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if not 1 <= len(str(opt.get("description", ""))) <= 100:
        errors.add([*path, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if otype not in OPTION_TYPES:
        errors.add([*path, "type"], "BASE_TYPE_CHOICES", f"Value must be one of {sorted(OPTION_TYPES)}.")
        return
    if otype in (SUB_COMMAND, SUB_COMMAND_GROUP) and opt.get("required"):
        errors.add(
            [*path, "required"],
            "APPLICATION_COMMAND_REQUIRED_INVALID",
            "Required cannot be configured for this type of option",
        )
    choices = opt.get("choices") or []
    if choices and otype not in CHOICE_TYPES:
        errors.add(
            [*path, "choices"], "APPLICATION_COMMAND_CHOICES_INVALID", "Choices cannot be configured for this type"
        )
    if len(choices) > MAX_CHOICES:
        errors.too_long([*path, "choices"], MAX_CHOICES)
    for i, choice in enumerate(choices):
        check_choice(choice, otype, [*path, "choices", i], errors)
    if opt.get("autocomplete"):
        if otype not in CHOICE_TYPES:
            errors.add(
                [*path, "autocomplete"],
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                "Autocomplete cannot be configured for this type of option",
            )
        elif choices:
            errors.add(
                [*path, "autocomplete"],
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                "Autocomplete cannot be set together with choices",
            )


def _check_options(options: list[JSON], path: list[str | int], errors: Errors, *, level: str) -> None:
    """Options of a command, a sub-command group or a sub-command (level: command/group/sub).

    A command holds either only sub-commands/groups or only value options; a group holds only
    sub-commands; a sub-command holds only value options (no deeper nesting)."""
    if len(options) > MAX_COMMAND_OPTIONS:
        errors.too_long([*path, "options"], MAX_COMMAND_OPTIONS)
    names: set[str] = set()
    seen_optional = False
    nested_first = bool(options) and options[0].get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)
    for i, opt in enumerate(options):
        opath: list[str | int] = [*path, "options", i]
        _check_option(opt, opath, errors)
        name = str(opt.get("name", ""))
        if name in names:
            errors.add(
                [*opath, "name"], "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name already exists"
            )
        names.add(name)
        otype = opt.get("type")
        nested = otype in (SUB_COMMAND, SUB_COMMAND_GROUP)
        if level == "command" and nested != nested_first:
            errors.add(opath, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", MIXED_TYPES)
        elif level == "group" and otype != SUB_COMMAND:
            errors.add(opath, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command groups hold only sub-commands")
        elif level == "sub" and nested:
            errors.add(opath, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-commands cannot hold sub-commands")
        if nested:
            inner = "group" if otype == SUB_COMMAND_GROUP and level == "command" else "sub"
            _check_options(opt.get("options") or [], opath, errors, level=inner)
            continue
        if opt.get("required"):
            if seen_optional:
                errors.add(
                    [*opath, "required"],
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True


def command_size(command: JSON) -> int:
    """Characters Discord counts toward MAX_COMMAND_SIZE (localizations left out)."""
    total = len(str(command.get("name", ""))) + len(str(command.get("description", "")))
    for choice in command.get("choices") or []:
        if isinstance(choice, dict):
            total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return total + sum(command_size(opt) for opt in command.get("options") or [] if isinstance(opt, dict))


def check_command(command: JSON, errors: Errors, path: list[str | int]) -> None:
    """One application command definition."""
    ctype = int(command.get("type", 1))
    name = str(command.get("name", ""))
    if ctype == 1:
        if not _is_name(name):
            errors.add([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        desc = str(command.get("description", ""))
        if not 1 <= len(desc) <= 100:
            errors.add([*path, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        _check_options(command.get("options") or [], path, errors, level="command")
        if command_size(command) > MAX_COMMAND_SIZE:
            errors.add(path, "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({MAX_COMMAND_SIZE})")
    else:
        if not 1 <= len(name) <= 32:
            errors.add([*path, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        if command.get("description"):
            errors.add(
                [*path, "description"],
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have description",
            )


def check_commands(commands: list[JSON]) -> JSON | None:
    """A bulk-overwrite list: each command plus name uniqueness per type."""
    errors = Errors()
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands):
        check_command(cmd, errors, [i])
        key = (int(cmd.get("type", 1)), str(cmd.get("name")))
        if key in seen:
            errors.add([i, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
        seen.add(key)
    return errors.result()


def focused_option(options: list[JSON]) -> JSON | None:
    """The option marked focused in an autocomplete interaction's (possibly nested) options."""
    for opt in options:
        if opt.get("focused"):
            return opt
        found = focused_option(opt.get("options") or [])
        if found is not None:
            return found
    return None


def check_autocomplete(data: JSON, option_type: int | None) -> JSON | None:
    """An APPLICATION_COMMAND_AUTOCOMPLETE_RESULT's data: at most 25 choices, each valid for
    the focused option's type (names 1-100 characters, string values up to 100)."""
    errors = Errors()
    choices = data.get("choices")
    if not isinstance(choices, list):
        errors.required(["data", "choices"])
        return errors.result()
    if len(choices) > MAX_CHOICES:
        errors.too_long(["data", "choices"], MAX_CHOICES)
    for i, choice in enumerate(choices):
        check_choice(choice, option_type, ["data", "choices", i], errors)
    return errors.result()
