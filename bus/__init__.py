"""The file bus: agents talk only by writing versioned artifacts into a git-tracked workspace."""

from bus.errors import ArtifactError, BusError, NotAWorkspaceError, PathRuleError, WorkspaceLockedError
from bus.workspace import CommitInfo, Workspace, sha256_file, sha256_tree

__all__ = [
    "ArtifactError",
    "BusError",
    "CommitInfo",
    "NotAWorkspaceError",
    "PathRuleError",
    "Workspace",
    "WorkspaceLockedError",
    "sha256_file",
    "sha256_tree",
]
