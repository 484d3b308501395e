"""Brain specs: what each one builds, and the clear errors when one cannot work on this machine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents import cli
from agents.brain import BrainConfigError, preflight
from agents.brain.chat_models import Unavailable, chat_model, forget_built_models
from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from bus import Workspace


@pytest.fixture(autouse=True)
def _fresh_cache():
    forget_built_models()
    yield
    forget_built_models()


def test_none_is_no_model() -> None:
    assert chat_model("none") is None


def test_hf_without_a_token_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    with pytest.raises(BrainConfigError, match="HF_TOKEN"):
        chat_model("hf:Qwen/Qwen2.5-7B-Instruct")


def test_hf_offline_is_unavailable_not_an_error(monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_" + "a" * 30)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    made = chat_model("hf:Qwen/Qwen2.5-7B-Instruct")
    assert isinstance(made, Unavailable) and "offline" in made.why


def test_a_provider_whose_package_is_missing_names_the_package() -> None:
    with pytest.raises(BrainConfigError, match="langchain-openai"):
        chat_model("openai:gpt-4o-mini")


def test_an_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(BrainConfigError, match="cannot be set up"):
        chat_model("nosuchprovider:some-model")


def test_injected_needs_a_registered_model() -> None:
    with pytest.raises(BrainConfigError, match="no chat model was registered"):
        chat_model("injected:nobody-registered-this")


def test_local_needs_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(BrainConfigError, match="not a model folder"):
        chat_model(f"local:{tmp_path / 'nothing'}")


def test_local_wraps_a_transformers_pipeline_in_a_chat_model(tmp_path: Path) -> None:
    """The embedded tiny model is a real checkpoint with a chat template; a relative path is read from the workspace.

    No generation here: the tiny character model needs minutes for a prompt of this size and would only
    produce digits (the fallback for that is covered in test_ask).
    """
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline

    shutil.copytree(materialize_model(EMBEDDED_TINY, tmp_path / "models", seed=0), tmp_path / "tiny")
    made = chat_model("local:tiny", root=tmp_path)
    assert isinstance(made, ChatHuggingFace) and isinstance(made.llm, HuggingFacePipeline)
    assert made.llm.pipeline_kwargs["return_full_text"] is False  # the reply only, not the prompt echoed


def test_go_stops_at_start_when_the_brain_cannot_work(tmp_path: Path, monkeypatch, capsys, set_goal) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    ws = Workspace.init(tmp_path / "ws")
    set_goal(ws, brain="hf:Qwen/Qwen2.5-7B-Instruct")
    before = len(ws.history())
    assert cli.main(["go", str(ws.root), "--no-watch"]) == 2
    assert "HF_TOKEN" in capsys.readouterr().err
    assert len(ws.history()) == before  # nothing ran


def test_preflight_says_which_brain_and_its_budget(ws: Workspace, monkeypatch, set_goal) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_" + "b" * 30)
    set_goal(ws, brain="hf:Qwen/Qwen2.5-7B-Instruct", brain_budget={"tokens": 5000})
    line = preflight(ws)
    assert "hf:Qwen/Qwen2.5-7B-Instruct" in line and "5000" in line and "offline" in line
