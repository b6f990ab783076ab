"""The bot's commands, grouped by audience: asking, information, admin."""
