"""Fixtures for the file-bus tests: an isolated git identity, a fresh workspace, valid artifacts."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import pytest

from bus import Workspace
from bus.schemas import DatasetCard, PaperNote, TrainingConfig

HUMAN_NAME = "Ada Lovelace"
HUMAN_EMAIL = "ada@example.org"
_SECRET_ENV = re.compile(r"(?i)(TOKEN|SECRET|PASSWORD|API_KEY)")


@pytest.fixture(autouse=True)
def _isolated_git_identity(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global/user git config and no secret-looking env vars leak in from the machine running the tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for key in list(os.environ):
        if key.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_")) or _SECRET_ENV.search(key):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


@pytest.fixture
def human(ws: Workspace) -> tuple[str, str]:
    """Configure a git user in the workspace repository; returns (name, email)."""
    with ws.repo.config_writer() as cfg:
        cfg.set_value("user", "name", HUMAN_NAME)
        cfg.set_value("user", "email", HUMAN_EMAIL)
    return HUMAN_NAME, HUMAN_EMAIL


@pytest.fixture
def make_paper() -> Callable[..., PaperNote]:
    def make(**overrides) -> PaperNote:
        fields = dict(
            arxiv_id="2402.03300",
            title="DeepSeekMath: Pushing the Limits of Mathematical Reasoning",
            year=2024,
            relevance=1.0,
            tags=["grpo"],
            knobs={"beta": 0.0},
            body="GRPO drops the value model and normalises rewards within a group.",
        )
        fields.update(overrides)
        return PaperNote(**fields)

    return make


@pytest.fixture
def make_config() -> Callable[..., TrainingConfig]:
    def make(**overrides) -> TrainingConfig:
        fields = dict(
            run_id="run-001",
            method="sft",
            base_model="embedded:tiny",
            dataset="d",
            learning_rate=1e-3,
            max_steps=10,
            per_device_train_batch_size=8,
        )
        fields.update(overrides)
        return TrainingConfig(**fields)

    return make


@pytest.fixture
def card_fields() -> dict:
    """Valid DatasetCard keyword arguments."""
    return dict(
        name="addition-sft",
        task="addition",
        rows=100,
        columns=["prompt", "completion"],
        data_file="data/train.jsonl",
        data_sha256="0" * 64,
        generator="generate.py",
        duplicates=0,
        prompt_length={"mean": 6.0, "max": 6.0},
        answer_format_ok=1.0,
        label_agreement=0.5,
        eval_overlap=0,
        body="Sums of two 2-digit numbers.",
    )


@pytest.fixture
def make_card(card_fields) -> Callable[..., DatasetCard]:
    def make(**overrides) -> DatasetCard:
        return DatasetCard(**{**card_fields, **overrides})

    return make
