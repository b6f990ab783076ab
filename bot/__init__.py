"""storybot: the command line and the Discord front end on top of the `index` engine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("storybot")  # written once, in pyproject.toml
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
