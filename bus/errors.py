"""Typed errors of the file bus. Each message is one line a user can act on."""

from __future__ import annotations


class BusError(Exception):
    """Base of every error the bus raises on purpose."""


class NotAWorkspaceError(BusError):
    """A directory that is not an intern workspace (no intern.yaml under git)."""


class PathRuleError(BusError):
    """An agent tried to write where the ownership rules do not let it."""


class WorkspaceLockedError(BusError):
    """Another live `intern go` holds the workspace; the message names its pid."""


class ArtifactError(BusError):
    """An artifact that does not match its schema, naming the file and the field."""

    def __init__(self, path: str, field: str, message: str) -> None:
        self.path, self.field, self.message = path, field, message
        super().__init__(f"{path}: field '{field}': {message}")
