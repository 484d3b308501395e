"""Reading and writing artifacts as text: markdown with YAML front matter, JSON or YAML."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import yaml
from pydantic import ValidationError

from bus import layout
from bus.errors import ArtifactError
from bus.schemas import Artifact

# Where each kind of artifact lives (a view of bus/layout.py); the first match wins.
SCHEMA_PATHS: tuple[tuple[str, type[Artifact]], ...] = layout.schema_paths()


def schema_for(path: str) -> type[Artifact] | None:
    pure = PurePosixPath(path)
    for pattern, schema in SCHEMA_PATHS:
        if len(pure.parts) == len(pattern.split("/")) and pure.match(pattern):
            return schema
    return None


def dump_artifact(artifact: Artifact) -> str:
    data = artifact.model_dump(mode="json")
    if artifact.FORMAT == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if artifact.FORMAT == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    body = data.pop("body", "").strip("\n")
    front = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}\n"


def split_front_matter(text: str) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        raise ValueError("markdown artifact must start with a '---' YAML front matter block")
    end = text.find("\n---", 4)
    if end < 0:
        raise ValueError("front matter is not closed by a '---' line")
    front = yaml.safe_load(text[4:end]) or {}
    if not isinstance(front, dict):
        raise ValueError("front matter must be a YAML mapping")
    body = text[end + 4 :].strip("\n")
    return front, body


def parse_artifact(text: str, schema: type[Artifact], path: str) -> Artifact:
    """Parse and validate; any problem becomes an ArtifactError naming the file and the field."""
    try:
        if schema.FORMAT == "json":
            data = json.loads(text)
        elif schema.FORMAT == "yaml":
            data = yaml.safe_load(text) or {}
        else:
            data, body = split_front_matter(text)
            data["body"] = body
    except (ValueError, yaml.YAMLError) as exc:
        raise ArtifactError(path, "(file)", f"not valid {schema.FORMAT}: {exc}".replace("\n", " ")) from exc
    if not isinstance(data, dict):
        raise ArtifactError(path, "(file)", f"expected a mapping, found {type(data).__name__}")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(root)"
        raise ArtifactError(path, field, err["msg"]) from exc


def load_artifact(root: Path, path: str, schema: type[Artifact] | None = None) -> Artifact:
    schema = schema or schema_for(path)
    if schema is None:
        raise ArtifactError(path, "(file)", "no artifact schema is registered for this path")
    full = root / path
    if not full.exists():
        raise ArtifactError(path, "(file)", "does not exist")
    return parse_artifact(read_utf8(full, path), schema, path)


def read_utf8(full: Path, path: str) -> str:
    """A file's text; a file that is not UTF-8 (or cannot be read) is an ArtifactError that says so."""
    try:
        data = full.read_bytes()
    except OSError as exc:
        raise ArtifactError(path, "(file)", f"cannot be read: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(
            path, "(file)", f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None
