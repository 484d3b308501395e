"""GGUF conversion: the packaged SmolLM2 converted once to a plain checkpoint; a file that is not GGUF."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agents.models import conversion
from agents.models.errors import ModelLoadError
from agents.models.loading import parameter_count
from agents.models.refs import materialize_model, packaged_file
from agents.models.tokens import end_of_turn_token


def test_a_file_that_is_not_gguf_fails_with_its_name(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERN_MODEL_CACHE", "")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(ModelLoadError, match="cannot read .*broken.gguf as a GGUF model"):
        materialize_model(str(bad), tmp_path / "models")


def test_packaged_smollm2_converts_once_to_a_plain_checkpoint(smollm2_dir, tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    folder = Path(smollm2_dir)
    record = json.loads((folder / conversion.CONVERSION_FILE).read_text())
    gguf = packaged_file("smollm2-135m-instruct")
    assert record["source_sha256"] == conversion.sha256_of(gguf)
    assert record["weights_sha256"] == conversion.weights_sha256(folder)
    assert record["parameters"] == parameter_count(smollm2_dir) == 134_515_008
    # The pitfalls: eos read as <|im_start|>, no pad token. Fixed in tokenizer, config and generation config.
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = AutoConfig.from_pretrained(folder)
    assert tokenizer.eos_token == "<|im_end|>" == end_of_turn_token(tokenizer)
    assert tokenizer.pad_token == "<|endoftext|>" and tokenizer.pad_token_id != tokenizer.eos_token_id
    assert config.eos_token_id == tokenizer.eos_token_id and not hasattr(config, "quantization_config")
    generation = json.loads((folder / "generation_config.json").read_text())
    assert generation["eos_token_id"] == tokenizer.eos_token_id
    # A second workspace gets hard links to the machine-wide conversion, not a second conversion.
    again = materialize_model("smollm2-135m-instruct", tmp_path / "other-workspace-models")
    assert os.stat(Path(again) / "model.safetensors").st_ino == os.stat(folder / "model.safetensors").st_ino
    assert materialize_model(str(gguf), tmp_path / "other-workspace-models") == again  # the same file, by path
