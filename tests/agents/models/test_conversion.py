"""GGUF conversion: the packaged SmolLM2 once to a plain checkpoint, other families faithfully, refusals by name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agents.models import conversion
from agents.models.errors import ModelLoadError
from agents.models.loading import load_model, parameter_count
from agents.models.refs import materialize_model, packaged_file
from agents.models.tokens import end_of_turn_token

from .gguf_files import gemma_tokenizer_fields, tiny_hf_model, write_gguf


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


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Tiny random qwen3 and gemma3 models written as GGUF files here, and the models they were written from."""
    folder = tmp_path_factory.mktemp("gguf")
    fields = gemma_tokenizer_fields()
    out = {}
    for family in ("qwen3", "gemma3"):
        # qwen3 here with a SentencePiece-style vocabulary too: the tokenizer is not what this test is about.
        tokenizer_fields = dict(fields, tokenizer_model="llama") if family == "qwen3" else fields
        model = tiny_hf_model(family, len(fields["token_list"]))
        out[family] = (model, write_gguf(model, folder / f"{family}-tiny.gguf", family, tokenizer_fields, add_bos=True))
    return out


@pytest.mark.parametrize("family", ["qwen3", "gemma3"])
def test_other_families_convert_to_the_model_they_were_written_from(written, family, tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("INTERN_MODEL_CACHE", "")
    original, gguf = written[family]
    folder = conversion.convert_gguf(gguf, tmp_path / "models", say=lambda _: None)
    record = json.loads((folder / conversion.CONVERSION_FILE).read_text())
    assert record["architecture"] == family and record["add_bos_token"] is True
    converted = AutoModelForCausalLM.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer("the river town", return_tensors="pt")["input_ids"]
    assert ids[0, 0].item() == tokenizer.bos_token_id == 2  # the BOS the file asks for, kept after a reload
    with torch.no_grad():
        assert torch.allclose(converted(ids).logits, original(ids).logits, atol=1e-4)


def test_an_architecture_transformers_cannot_read_is_refused_by_name(tmp_path, monkeypatch):
    import gguf

    monkeypatch.setenv("INTERN_MODEL_CACHE", "")
    for arch, said in (("rwkv7", "not one transformers' GGUF reader reads"), ("t5", "encoder-decoder")):
        path = tmp_path / f"{arch}.gguf"
        writer = gguf.GGUFWriter(str(path), arch)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        with pytest.raises(ModelLoadError, match=f"architecture '{arch}' .*{said}"):
            materialize_model(str(path), tmp_path / "models")


@pytest.mark.slow
def test_smollm2_written_as_a_qwen2_gguf_converts_and_passes_the_language_check(smollm2_dir, tmp_path, monkeypatch):
    """A real language model of another family: SmolLM2's weights as qwen2 (f16), through `model: file.gguf`."""
    from transformers import AutoTokenizer

    from agents.models.language_check import check_language

    from .gguf_files import bpe_tokenizer_fields, smollm2_as_qwen2

    monkeypatch.setenv("INTERN_MODEL_CACHE", "")
    qwen, llama = smollm2_as_qwen2(smollm2_dir)
    source_tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    path = write_gguf(qwen, tmp_path / "smollm2-qwen2.gguf", "qwen2", bpe_tokenizer_fields(source_tokenizer), half=True)
    del qwen
    folder = materialize_model(str(path), tmp_path / "models")
    assert json.loads((Path(folder) / conversion.CONVERSION_FILE).read_text())["architecture"] == "qwen2"
    model, tokenizer = load_model(folder)
    check = check_language(model, tokenizer)
    reference = check_language(llama, source_tokenizer)
    print(f"qwen2 GGUF of SmolLM2: {check.figure()} in {check.seconds} s; SmolLM2: {reference.figure()}")
    assert check.passed, check.refusal
    assert abs(check.bits_per_byte - reference.bits_per_byte) < 0.05  # f16 rounding, another pre-tokenizer
