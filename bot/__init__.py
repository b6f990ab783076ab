"""storybot: the command line and the Discord front end on top of the `index` engine."""

__version__ = "0.1.0"
