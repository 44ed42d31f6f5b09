"""tandem's edge agent: the laptop side that holds private context and talks to the cloud."""

__version__ = "0.1.0"
