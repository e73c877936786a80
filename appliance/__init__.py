"""voicebox: an offline voice appliance with a team of local AI assistants."""

__version__ = "0.1.0"
