"""The critic's pictures: runs/<id>/curves.png and reports/progress.png, drawn from real metrics and linked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from agents.critic.critic import critic_step
from agents.critic.curves import (
    Point,
    progress_figure,
    progress_png,
    run_curves_figure,
    run_curves_png,
    write_run_curves,
)
from agents.critic.report import render_summary, write_progress
from bus import Workspace
from bus.schemas import TrainingConfig

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metrics"
PNG = b"\x89PNG\r\n\x1a\n"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines() if line.strip()]


def _config(method: str, **update) -> TrainingConfig:
    return TrainingConfig(**{**yaml.safe_load((FIXTURES / f"{method}-healthy.config.yaml").read_text()), **update})


def _titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def _is_png(data: bytes, min_size: int = 5_000) -> bool:
    return data.startswith(PNG) and len(data) > min_size


def test_grpo_curves_show_reward_band_entropy_lengths_and_clipping():
    fig = run_curves_figure(_rows("grpo-healthy"), "grpo", "run-002", max_completion_length=5)
    titles = _titles(fig)
    assert titles[:2] == ["reward", "entropy"]
    assert "completion length (tokens)" in titles and "share cut at max length" in titles
    assert "KL to the reference" not in titles  # beta 0: TRL logs no kl
    reward_ax = fig.axes[0]
    assert reward_ax.collections, "the ± reward_std band is missing"
    assert {line.get_label() for line in fig.axes[3].lines} >= {"mean", "max", "max_completion_length"}
    with_kl = run_curves_figure(_rows("grpo-kl-blowup"), "grpo", "run-002")
    assert "KL to the reference" in _titles(with_kl)


def test_sft_curves_show_loss_accuracy_and_grad_norm():
    fig = run_curves_figure(_rows("sft-healthy"), "sft", "run-001")
    assert _titles(fig) == ["train loss", "mean_token_accuracy", "grad_norm"]
    steps = fig.axes[0].lines[0].get_xdata()
    assert steps[0] == 20 and steps[-1] == 800


def test_pngs_are_valid_fast_and_reproducible():
    for name, method in (("grpo-healthy", "grpo"), ("sft-healthy", "sft")):
        rows = _rows(name)
        run_curves_png(rows, method, name)  # the first figure pays for font loading
        start = time.perf_counter()
        png = run_curves_png(rows, method, name, 5)
        took = time.perf_counter() - start
        assert _is_png(png, 10_000)
        assert took < 2.0, f"{name} took {took:.2f}s"  # about 0.2-0.5 s on 2 cores
        assert run_curves_png(rows, method, name, 5) == png  # no timestamp or version inside


def test_missing_and_non_finite_values_do_not_break_a_picture():
    rows = _rows("sft-healthy")
    rows[5]["loss"] = "nan"
    rows[6]["grad_norm"] = "inf"
    assert _is_png(run_curves_png(rows, "sft", "run-001"))
    fig = run_curves_figure([{"step": 1, "train_runtime": 3.0}], "grpo", "empty")
    assert any(t.get_text() == "not logged" for ax in fig.axes for t in ax.texts)


def test_progress_shows_each_run_against_base_and_target():
    points = [Point("run-001", "sft", 0.622, 0.579, 0.663), Point("run-002", "grpo", 0.962, 0.941, 0.976)]
    fig = progress_figure(points, 0.0, 0.9, "progress")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["run-001", "run-002"]
    labels = {line.get_label() for line in ax.lines}
    assert {"base model 0.000", "target 0.90", "sft", "grpo"} <= labels
    assert ax.get_ylim()[0] < 0  # a base line at 0 is drawn above the axis, not hidden by it
    assert _is_png(progress_png(points, 0.0, 0.9, "progress"))


def test_the_reward_band_stays_within_the_rewards_range():
    rows = [{"step": s, "reward": r, "reward_std": 0.4} for s, r in ((1, 0.05), (2, 0.5), (3, 0.95))]
    fig = run_curves_figure(rows, "grpo", "run-001")
    band = fig.axes[0].collections[0]
    ys = [y for path in band.get_paths() for _, y in path.vertices]
    assert min(ys) >= 0.0 and max(ys) <= 1.0


def test_pictures_go_through_the_bus_once_and_are_linked(ws, write_base_evaluation, make_evaluation):
    write_base_evaluation(ws, 0.0)
    config = _config("sft")
    ws.write_artifact("trainer", "runs/run-001/config.yaml", config, "Config run-001")
    ws.write_artifact("critic", "runs/run-001/evaluation.md", make_evaluation(0.622, subject="run-001"), "Eval")
    sha = write_run_curves(ws, config, _rows("sft-healthy"))
    assert sha == ws.repo.head.commit.hexsha
    assert ws.history()[0].agent == "critic" and ws.history()[0].artifact == "runs/run-001/curves.png"
    assert _is_png(ws.path("runs/run-001/curves.png").read_bytes(), 10_000)
    assert write_run_curves(ws, config, _rows("sft-healthy")) is None  # same picture: no second commit
    assert write_run_curves(ws, config, []) is None  # nothing logged: nothing drawn

    assert write_progress(ws, ws.goal()) is not None
    assert _is_png(ws.path("reports/progress.png").read_bytes())
    assert write_progress(ws, ws.goal()) is None
    summary = render_summary(ws, ws.goal(), None)
    link = "](progress.png)"
    assert link in summary and (ws.path("reports") / "progress.png").exists()
    assert not ws.repo.is_dirty(untracked_files=True)


@pytest.fixture
def judged(ws: Workspace, set_goal, tmp_path: Path, finish_run) -> Workspace:
    """A finished SFT run as the trainer leaves it (a real tiny checkpoint, real metrics), then one critic step."""
    set_goal(ws, task={"eval_size": 24})
    finish_run(ws, tmp_path / "models", _config("sft"), (FIXTURES / "sft-healthy.jsonl").read_text())
    critic_step(ws)
    return ws


def test_the_critic_step_draws_and_links_both_pictures(judged: Workspace):
    ws = judged
    assert ws.exists("runs/run-001/diagnosis.md"), "the critic did not diagnose the run"
    assert _is_png(ws.path("runs/run-001/curves.png").read_bytes(), 10_000)
    assert _is_png(ws.path("reports/progress.png").read_bytes())
    assert "![training curves of run-001](curves.png)" in ws.read_text("runs/run-001/diagnosis.md")
    assert "](progress.png)" in ws.read_text("reports/summary.md")
    by_artifact = {c.artifact: c.agent for c in ws.history() if c.artifact}
    assert by_artifact["runs/run-001/curves.png"] == "critic" and by_artifact["reports/progress.png"] == "critic"
    assert not ws.repo.is_dirty(untracked_files=True)
    before = ws.repo.head.commit.hexsha
    critic_step(ws)  # nothing new to judge: the pictures are not redrawn into new commits
    since = []
    for commit in ws.history():
        if commit.sha == before:
            break
        since.append(commit.artifact)
    assert not {"reports/progress.png", "runs/run-001/curves.png"} & set(since)
