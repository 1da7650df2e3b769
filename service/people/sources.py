"""What every people source shares."""

from __future__ import annotations


class SourceError(Exception):
    """A directory could not be read; nothing was changed. The message is Swedish and says
    what to check."""
