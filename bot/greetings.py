"""Greetings and calls for help: "hi", "hello", "help", "?" get the help card, not a search of the story.

Pure module: called with the question as the engine cleaned it (mentions already gone).
"""

from __future__ import annotations

import re

_NAME = r"(?:storybot|bot|there|all|everyone|folks|friend)"
_GREETING = re.compile(
    rf"(?:(?:oh )?{_NAME} )?"
    r"(?:hi+|hello+|hey+|heya|hiya|howdy|yo|hola|hallo|greetings|sup|wh?at'?s up|good (?:morning|afternoon|evening|day)"
    r"|help|help me|help please|please help|commands|start|info|usage"
    r"|how does (?:this|it) work|how do i use (?:this|you|it)|how do i ask|what can you do|what do you do"
    r"|who are you|what are you)"
    rf"(?: {_NAME})?"
)
_PUNCTUATION = re.compile(r"[^\w\s']+")


def is_greeting(question: str) -> bool:
    """A message that says hello or asks how to use the bot, not something about the story.

    Punctuation and emoji alone ("?", "👋", "?!") count too: there is nothing to look up.
    """
    words = " ".join(_PUNCTUATION.sub(" ", question.lower()).replace("_", " ").split())
    return not words or _GREETING.fullmatch(words) is not None
