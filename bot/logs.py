"""Logging set-up for the bot, with every record scrubbed of the bot token.

Pure module (no discord import at module level): `configure_logging` uses discord.py's
`setup_logging` conventions (one stream handler on the root logger, discord.py's formatter)
only when nothing configured logging yet, then puts a `RedactToken` filter on every root handler.
"""

from __future__ import annotations

import logging
import re

# A bot token: base64 user id, a timestamp part and an HMAC part, separated by dots.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,30}\.[A-Za-z0-9_-]{5,8}\.[A-Za-z0-9_-]{25,45}")
REDACTED = "[redacted token]"
_KEPT_TRACEBACK = "storybot_redacted_traceback"


class RedactToken(logging.Filter):
    """Removes the configured token, and anything shaped like a Discord token, from log records."""

    def __init__(self, token: str = "") -> None:
        super().__init__()
        self.token = token.strip()

    def redact(self, text: str) -> str:
        if self.token:
            text = text.replace(self.token, REDACTED)
        return TOKEN_PATTERN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw parts, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            # Formatters that render exc_info themselves (discord.py's colour formatter, used on a
            # TTY or in Docker) would bypass the redacted text: keep only the text.
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            record.__dict__[_KEPT_TRACEBACK] = record.exc_text
        elif _KEPT_TRACEBACK in record.__dict__:  # a formatter cleared it after an earlier handler
            record.exc_text = record.__dict__[_KEPT_TRACEBACK]
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str, token: str = "") -> RedactToken:
    """Log to stderr at `level` (discord.py's handler and format unless logging is already set up)."""
    root = logging.getLogger()
    if not root.handlers:
        import discord.utils

        discord.utils.setup_logging(level=getattr(logging, level, logging.INFO), root=True)
    root.setLevel(getattr(logging, level, logging.INFO))
    redactor = RedactToken(token)
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactToken)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    for noisy in ("sentence_transformers", "transformers", "huggingface_hub", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return redactor
