"""r1chat: a terminal chat app for reasoning models."""

__version__ = "0.1.0"
