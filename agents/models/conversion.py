"""A GGUF model converted once into a plain fp32 safetensors folder that `AutoModelForCausalLM` loads.

The folder lives under `.intern/models/`, keyed by the GGUF file's sha256, with `conversion.json` recording both
hashes, so the trainer, curator and critic all see the same weights. Pitfalls measured on SmolLM2's GGUF (facts
file): `save_pretrained` refuses a GGUF-loaded model ("quantized with GGUF, not serializable"), the tokenizer has no
pad token, and eos/bos both read as `<|im_start|>` while the chat template ends a turn with `<|im_end|>`.
The conversion rebuilds the plain architecture from the config (no quantization_config), copies the
de-quantized weights, and sets eos to the template's end-of-turn token and a pad token distinct from it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agents.models.environment import quiet_progress_bars
from agents.models.errors import ModelReferenceError
from agents.models.gguf_header import apply_bos, faithful_config, read_header, refusal
from agents.models.tokens import adds_bos, fix_special_tokens

CONVERSION_FILE = "conversion.json"
# Raised when a conversion changes what it writes: a folder written by an older converter is converted again
# (2: the file's head_dim, attention scale and BOS, which transformers' reader drops; gguf_header.py).
CONVERTER_VERSION = 2


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(folder: Path) -> str:
    """One sha256 over the folder's safetensors files (name and content), whatever the sharding."""
    digest = hashlib.sha256()
    for file in sorted(folder.glob("*.safetensors")):
        digest.update(file.name.encode() + b"\0" + sha256_of(file).encode())
    return digest.hexdigest()


def gguf_target(gguf: Path, cache_dir: Path) -> tuple[Path, str]:
    """Where a GGUF file's conversion lives (named by its stem and sha256) and that sha256."""
    digest = sha256_of(gguf)
    return cache_dir / f"{gguf.stem.lower()}-{digest[:12]}", digest


def converted(target: Path, source_sha256: str) -> bool:
    record = target / CONVERSION_FILE
    if not (target / "config.json").exists() or not record.exists():
        return False
    try:
        data = json.loads(record.read_text())
    except ValueError:
        return False
    return data.get("source_sha256") == source_sha256 and data.get("converter") == CONVERTER_VERSION


def shared_cache() -> Path | None:
    """The machine-wide conversion cache ($INTERN_MODEL_CACHE, default ~/.cache/intern/models; empty: none).

    A workspace's `.intern/models/` gets hard links to it: every workspace holds its own copy of the
    checkpoint it was evaluated with, while the 30 s conversion and the 0.5 GB happen once per machine.
    """
    value = os.environ.get("INTERN_MODEL_CACHE")
    if value is None:
        return Path.home() / ".cache" / "intern" / "models"
    return Path(value).expanduser() if value.strip() else None


@contextmanager
def _converting(target: Path) -> Iterator[None]:
    """One process at a time builds `target` (two `intern go`s, or two test workers, on a fresh machine)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _link_tree(source: Path, target: Path) -> None:
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for item in source.iterdir():
        try:
            os.link(item, tmp / item.name)
        except OSError:  # another file system: copy
            shutil.copy2(item, tmp / item.name)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def convert_gguf(gguf: Path, cache_dir: Path, say=print) -> Path:
    """Convert a GGUF model once into a safetensors folder plain transformers loads; returns the folder."""
    target, digest = gguf_target(gguf, cache_dir)
    if converted(target, digest):
        return target
    with _converting(target):
        if converted(target, digest):
            return target  # another process finished it while this one waited
        return _convert_or_link(gguf, cache_dir, target, digest, say)


def _convert_or_link(gguf: Path, cache_dir: Path, target: Path, digest: str, say) -> Path:
    shared = shared_cache()
    if shared is not None and shared.resolve() != cache_dir.resolve():
        machine_copy = convert_gguf(gguf, shared, say)
        _link_tree(machine_copy, target)
        return target
    try:
        import gguf as _gguf  # noqa: F401  (transformers' GGUF reader needs it; say so plainly)
    except ImportError:
        raise ModelReferenceError(f"reading {gguf.name} needs the gguf package: pip install gguf") from None
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    try:
        header = read_header(gguf)
    except Exception as exc:
        raise ModelReferenceError(f"cannot read {gguf} as a GGUF model: {type(exc).__name__}: {exc}") from exc
    problem = refusal(header, gguf.name)
    if problem:
        raise ModelReferenceError(problem)
    quiet_progress_bars()
    say(f"converting {gguf.name} ({header.architecture}, sha256 {digest[:12]}) into {target} once")
    started = time.time()
    import functools

    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    bar = gguf_utils.tqdm
    gguf_utils.tqdm = functools.partial(bar, disable=True)  # its de-quantizing bar would drown the loop's lines
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        fixes = faithful_config(config, header)
        fixes += [note for note in [apply_bos(tokenizer, header)] if note]
        loaded = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, config=config, dtype=torch.float32
        )
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ModelReferenceError(
            f"cannot convert {gguf.name} (architecture {header.architecture!r}): {type(exc).__name__}: {first}"
        ) from exc
    finally:
        gguf_utils.tqdm = bar
    # BPE tokenizers: the clean-up step would strip spaces before punctuation (and transformers warns each load).
    tokenizer.clean_up_tokenization_spaces = False
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are de-quantized fp32 now; nothing to serialize as GGUF
    plain = type(loaded)(config)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k or not config.tie_word_embeddings]:
        raise ModelReferenceError(
            f"{gguf.name}: weights do not match the architecture ({missing[:3]} {unexpected[:3]})"
        )
    if config.tie_word_embeddings:
        plain.tie_weights()
    fix_special_tokens(plain, tokenizer)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    plain.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    record = {
        "source": str(gguf),
        "source_sha256": digest,
        "converter": CONVERTER_VERSION,
        "weights_sha256": weights_sha256(tmp),
        "parameters": sum(p.numel() for p in plain.parameters()),
        "architecture": header.architecture,
        "chat_template": header.has_chat_template,
        "file_asks_bos": bool(header.add_bos_token),
        "add_bos_token": adds_bos(tokenizer),
        "fixes": fixes,
        "eos_token": tokenizer.eos_token,
        "pad_token": tokenizer.pad_token,
        "seconds": round(time.time() - started, 1),
    }
    (tmp / CONVERSION_FILE).write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    say(f"converted {gguf.name} in {record['seconds']:.0f} s ({record['parameters']:,} parameters)")
    return target
