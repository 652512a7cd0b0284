"""fundopt: chooses which candidate projects a joint US–Japan sovereign wealth fund funds."""

__version__ = "0.1.0"
