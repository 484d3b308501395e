"""Pictures of a run and of the whole effort, as PNG bytes the critic writes through the bus.

matplotlib's object API with the Agg canvas: no display, no pyplot global state, so it is safe in
the loop's threads. PNG metadata is fixed so the same data gives the same bytes, and an unchanged
picture is never committed twice.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from agents.critic.signals.training import series
from bus import Workspace, layout
from bus.schemas import TrainingConfig

_METADATA = {"Software": None}  # no version string in the file: same data, same bytes
_DPI = 80


@dataclass(frozen=True)
class Point:
    """One evaluated run on the progress picture."""

    run_id: str
    method: str
    score: float
    ci_low: float
    ci_high: float


def _png(fig: Figure, dpi: int = _DPI) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, metadata=_METADATA)
    return out.getvalue()


def _finite(metrics: list[dict], key: str) -> tuple[list[int], list[float]]:
    """A metric's points without nan/inf, which matplotlib cannot scale an axis to."""
    steps, values = series(metrics, key)
    kept = [(s, v) for s, v in zip(steps, values) if math.isfinite(v)]
    return [s for s, _ in kept], [v for _, v in kept]


def _panel(ax, metrics: list[dict], keys: list[tuple[str, str]], title: str, hline: float | None = None) -> None:
    drawn = False
    for key, label in keys:
        steps, values = _finite(metrics, key)
        if steps:
            ax.plot(steps, values, label=label, linewidth=1.2)
            drawn = True
    if hline is not None and drawn:
        ax.axhline(hline, color="grey", linestyle=":", linewidth=1, label="max_completion_length")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    if not drawn:
        ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes, color="grey")
    elif len(keys) > 1 or hline is not None:
        ax.legend(fontsize=6)


def _reward_panel(ax, metrics: list[dict]) -> None:
    steps, reward = _finite(metrics, "reward")
    std_steps, std = _finite(metrics, "reward_std")
    if steps:
        ax.plot(steps, reward, label="reward", linewidth=1.2)
        if std_steps == steps:
            # A reward in [0, 1] (every verifier here) cannot be below 0 or above 1: the band stays in that range.
            low = 0.0 if min(reward) >= 0 else -math.inf
            high = 1.0 if max(reward) <= 1 else math.inf
            ax.fill_between(
                steps,
                [max(low, r - s) for r, s in zip(reward, std)],
                [min(high, r + s) for r, s in zip(reward, std)],
                alpha=0.2,
                label="± reward_std",
            )
        ax.legend(fontsize=6)
    else:
        ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_title("reward", fontsize=9)
    ax.tick_params(labelsize=7)


def run_curves_png(metrics: list[dict], method: str, title: str, max_completion_length: int | None = None) -> bytes:
    return _png(run_curves_figure(metrics, method, title, max_completion_length))


def run_curves_figure(metrics: list[dict], method: str, title: str, max_completion_length: int | None = None) -> Figure:
    """GRPO: reward ± reward_std, entropy, KL (if logged), completion lengths, clipped share. SFT: loss, accuracy, grad_norm."""
    if method == "grpo":
        has_kl = bool(_finite(metrics, "kl")[0])
        fig = Figure(figsize=(10, 6 if has_kl else 5.5))
        axes = fig.subplots(2, 3).flatten()
        _reward_panel(axes[0], metrics)
        _panel(axes[1], metrics, [("entropy", "entropy")], "entropy")
        if has_kl:
            _panel(axes[2], metrics, [("kl", "kl")], "KL to the reference")
        else:
            _panel(axes[2], metrics, [("grad_norm", "grad_norm")], "grad_norm (no kl: beta is 0)")
        _panel(
            axes[3],
            metrics,
            [("completions/mean_length", "mean"), ("completions/max_length", "max")],
            "completion length (tokens)",
            hline=max_completion_length,
        )
        _panel(axes[4], metrics, [("completions/clipped_ratio", "clipped")], "share cut at max length")
        _panel(axes[5], metrics, [("frac_reward_zero_std", "zero-std groups")], "frac_reward_zero_std")
    else:
        fig = Figure(figsize=(10, 3))
        axes = fig.subplots(1, 3)
        evals = [("eval_loss", "eval_loss")] if _finite(metrics, "eval_loss")[0] else []  # TRL runs with an eval set
        _panel(axes[0], metrics, [("loss", "loss"), *evals], "train loss" + (" and eval_loss" if evals else ""))
        _panel(axes[1], metrics, [("mean_token_accuracy", "accuracy")], "mean_token_accuracy")
        _panel(axes[2], metrics, [("grad_norm", "grad_norm")], "grad_norm")
    for ax in axes:
        ax.set_xlabel("step", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def progress_png(points: list[Point], base: float | None, target: float, title: str) -> bytes:
    return _png(progress_figure(points, base, target, title), dpi=100)


def progress_figure(points: list[Point], base: float | None, target: float, title: str) -> Figure:
    """Held-out score per run with its 95% interval, against the base model and the target."""
    fig = Figure(figsize=(8, 4.5))  # 800x450 px at the progress dpi: readable in a README or a PR
    ax = fig.subplots()
    xs = list(range(1, len(points) + 1))
    colors = {"sft": "tab:blue", "grpo": "tab:orange"}
    for x, p in zip(xs, points):
        ax.errorbar(
            [x],
            [p.score],
            yerr=[[max(0.0, p.score - p.ci_low)], [max(0.0, p.ci_high - p.score)]],
            fmt="o",
            color=colors.get(p.method, "tab:grey"),
            capsize=3,
        )
        ax.annotate(f"{p.score:.3f}", (x, p.score), textcoords="offset points", xytext=(6, 4), fontsize=9)
    if points:
        ax.plot(xs, [p.score for p in points], color="lightgrey", linewidth=1, zorder=0)
    if base is not None:  # drawn above the axis frame and named at its end, so a base of 0 still shows
        ax.axhline(base, color="dimgrey", linestyle="--", linewidth=1.6, label=f"base model {base:.3f}", zorder=3)
        ax.annotate(
            f"base {base:.3f}",
            (1.0, base),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 4),
            textcoords="offset points",
            ha="right",
            fontsize=9,
            color="dimgrey",
        )
    ax.axhline(target, color="green", linestyle=":", linewidth=1.6, label=f"target {target:.2f}")
    for method, color in colors.items():
        if any(p.method == method for p in points):
            ax.plot([], [], "o", color=color, label=method)
    ax.set_xticks(xs, [p.run_id for p in points], fontsize=9)
    ax.set_xlim(0.5, max(len(points), 1) + 0.5)
    ax.set_ylim(-0.04, 1.05)  # below 0, so a base line (or a score) at 0 is not hidden by the axis
    ax.tick_params(labelsize=9)
    ax.set_ylabel("held-out exact match", fontsize=10)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=9, loc="upper left")
    fig.tight_layout()
    return fig


def write_run_curves(ws: Workspace, config: TrainingConfig, metrics: list[dict]) -> str | None:
    """Draw runs/<id>/curves.png through the bus; returns the commit sha, or None when nothing new was drawn."""
    if not metrics:
        return None
    try:
        png = run_curves_png(metrics, config.method, f"{config.run_id} ({config.method})", config.max_completion_length)
    except ValueError:  # a figure matplotlib cannot lay out is not worth stopping the critic for
        return None
    return write_if_changed(ws, layout.run_curves(config.run_id), png, f"Draw the training curves of {config.run_id}")


def write_if_changed(ws: Workspace, rel: str, png: bytes, summary: str) -> str | None:
    if ws.exists(rel) and ws.path(rel).read_bytes() == png:
        return None
    return ws.write_artifact("critic", rel, png, summary)
