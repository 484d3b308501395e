"""The goal's pre-flight for models: a .gguf file by path (in the workspace or absolute), and one line for each wrong form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.inputs import SetupError, check_setup, goal_problems
from bus import Workspace


def _set_model(ws: Workspace, model: str) -> None:
    goal = yaml.safe_load(ws.read_text("intern.yaml"))
    goal["model"] = model
    ws.path("intern.yaml").write_text(yaml.safe_dump(goal, sort_keys=False))


def _problems(ws: Workspace, model: str) -> list[str]:
    _set_model(ws, model)
    return goal_problems(ws, ws.goal())


def test_each_wrong_form_of_a_model_reference_is_named(ws: Workspace, tmp_path: Path) -> None:
    assert _problems(ws, "models/missing.gguf") == [
        f"model 'models/missing.gguf' does not exist (a GGUF file, relative to the workspace or absolute; "
        f"looked for {(ws.root / 'models/missing.gguf').resolve()})"
    ]
    ws.path("models").mkdir()
    ws.path("models/notes.txt").write_text("hello")
    assert "is a file but not a .gguf file" in _problems(ws, "models/notes.txt")[0]
    ws.path("models/renamed.gguf").write_bytes(b"PK\x03\x04 a zip")
    assert "is not a GGUF file (it starts with b'PK\\x03\\x04'" in _problems(ws, "models/renamed.gguf")[0]
    ws.path("models/folder").mkdir()
    ws.path("models/folder/model.gguf").write_bytes(b"GGUF")
    assert _problems(ws, "./models/folder") == [
        "model './models/folder' is a folder without config.json that holds model.gguf: "
        "name the file, ./models/folder/model.gguf"
    ]
    assert _problems(ws, "models/folder/model.gguf") == []  # inside the workspace, relative
    assert _problems(ws, str(ws.root / "models/folder/model.gguf")) == []  # absolute


def test_the_packaged_smollm2_file_given_by_its_path_starts(smollm2_dir, ws: Workspace) -> None:
    """The same file as the packaged name, linked into the workspace and named by a relative path."""
    from agents.models.refs import packaged_file

    ws.path("models").mkdir()
    ws.path("models/SmolLM2.gguf").symlink_to(packaged_file("smollm2-135m-instruct"))
    _set_model(ws, "models/SmolLM2.gguf")
    goal = check_setup(ws)
    assert goal.model == "models/SmolLM2.gguf"
    assert any(p.name.startswith("smollm2") for p in (ws.state_dir / "models").iterdir())
    # The language check ran once, passed, and is kept for the base evaluation and the model card.
    kept = json.loads((ws.state_dir / "language_check.json").read_text())
    assert kept["model"] == "models/SmolLM2.gguf" and kept["passed"] and kept["bits_per_byte"] < kept["bound"]


def test_the_embedded_tiny_model_is_not_language_checked(ws: Workspace) -> None:
    check_setup(ws)  # the template's goal: embedded:tiny, an addition model that cannot spell English
    assert not (ws.state_dir / "language_check.json").exists()


def test_a_gguf_file_that_cannot_be_converted_is_refused_before_the_loop(ws: Workspace) -> None:
    ws.path("model.gguf").write_bytes(b"GGUF but nothing else")
    _set_model(ws, "model.gguf")
    with pytest.raises(SetupError, match=r"intern.yaml: model: cannot read .*model.gguf as a GGUF model"):
        check_setup(ws)


def test_a_model_that_does_not_model_language_is_refused_at_start_with_its_figure(ws: Workspace) -> None:
    """A random gemma3 written as GGUF converts faithfully, keeps its BOS, and is refused on the figure alone."""
    from tests.agents.models.gguf_files import gemma_tokenizer_fields, tiny_hf_model, write_gguf

    fields = gemma_tokenizer_fields()
    write_gguf(
        tiny_hf_model("gemma3", len(fields["token_list"])), ws.path("gemma3.gguf"), "gemma3", fields, add_bos=True
    )
    _set_model(ws, "gemma3.gguf")
    with pytest.raises(
        SetupError, match=r"^intern.yaml: model: the model does not model language: \d+\.\d\d bits/byte"
    ) as err:
        check_setup(ws)
    assert "\n" not in str(err.value) and "this tokenizer adds <bos>" in str(err.value)
