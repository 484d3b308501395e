"""How much a score moves when nothing but the sampling seed changes: the noise floor.

The same checkpoint is scored S times (sampled, temperature 1.0, one draw per problem), each
time with another seed. Twice the standard deviation of those S scores is the smallest change
between two runs that the diagnosis should read as more than sampling luck. It is measured once
per workspace, on the first trained checkpoint that scores above 0.05 greedy (below that almost
every sample is wrong and the spread says nothing), and kept in reports/noise-floor.md.

What it measures is sampling spread, so it is reported for what it is (how much a sampled score or
pass@k of one checkpoint moves with the seed) and NOT applied to the greedy difference between two
checkpoints: those are graded on the same items and judged by a paired interval (agents/critic/keep.py).
A floor applied to greedy differences would have to measure greedy differences (e.g. the spread of
greedy scores across training seeds); a report that says `applies_to: greedy` is read as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.critic.scoring import parse_rows, sampled_accuracy
from agents.critic.stats import sample_std
from agents.tasks.base import Task
from bus import Workspace, layout
from bus.artifacts import split_front_matter
from bus.schemas import utc_now

NOISE_FLOOR_REPORT = layout.NOISE_FLOOR
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
DEFAULT_TEMPERATURE = 1.0
MIN_GREEDY_SCORE = 0.05  # the first checkpoint above this is the one the floor is measured on


@dataclass
class NoiseFloor:
    seeds: list[int]
    scores: list[float]
    temperature: float
    n: int

    @property
    def std(self) -> float:
        return sample_std(self.scores)

    @property
    def noise_floor(self) -> float:
        return 2 * self.std


def measure_noise_floor(
    checkpoint: str,
    rows: list[dict],
    task: Task,
    max_new_tokens: int,
    seeds: tuple[int, ...] | list[int] = DEFAULT_SEEDS,
    temperature: float = DEFAULT_TEMPERATURE,
) -> NoiseFloor:
    """Score one materialized checkpoint once per seed (one sample per problem) and keep every score."""
    from agents.models.sampling import choose_backend, load_for_generation

    if len(seeds) < 2:
        raise ValueError(f"a noise floor needs at least two seeds, got {list(seeds)}")
    model, tokenizer = load_for_generation(checkpoint, choose_backend(), seeds[0])
    scores = [sampled_accuracy(model, tokenizer, rows, task, max_new_tokens, temperature, seed) for seed in seeds]
    return NoiseFloor(seeds=list(seeds), scores=scores, temperature=temperature, n=len(rows))


def write_noise_floor(ws: Workspace, floor: NoiseFloor, subject: str, checkpoint: str, checkpoint_sha256: str) -> str:
    per_seed = ", ".join(f"{s:.4f}" for s in floor.scores)
    text = (
        "---\n"
        f"noise_floor: {floor.noise_floor:.6f}\n"
        f"std: {floor.std:.6f}\n"
        f"seeds: [{', '.join(str(s) for s in floor.seeds)}]\n"
        f"scores: [{per_seed}]\n"
        f"temperature: {floor.temperature:g}\n"
        f"n: {floor.n}\n"
        "measures: sampled score spread of one checkpoint across sampling seeds\n"
        "applies_to: sampled\n"
        f"subject: {subject}\n"
        f"checkpoint: {checkpoint}\n"
        f"checkpoint_sha256: {checkpoint_sha256}\n"
        f"written: '{utc_now()}'\n"
        "---\n\n"
        "# Noise floor\n\n"
        f"`{checkpoint}` ({subject}) scored on the held-out split ({floor.n} problems) {len(floor.seeds)} times, "
        f"one sample per problem at temperature {floor.temperature:g}, seeds {floor.seeds}: {per_seed}.\n\n"
        f"Standard deviation {floor.std:.4f} (n - 1); the noise floor is twice that, **{floor.noise_floor:.4f}**. "
        "A difference between two sampled scores (or pass@k) smaller than this is within what the sampling seed "
        "alone moves. It is not applied to greedy differences between checkpoints: those are graded on the "
        "same items and judged by a paired 95% interval.\n"
    )
    return ws.write_artifact(
        "critic", NOISE_FLOOR_REPORT, text, f"Measure the noise floor on {subject}: {floor.noise_floor:.4f}"
    )


def read_noise_floor(ws: Workspace, applies_to: str = "greedy") -> float:
    """The noise floor for comparing `applies_to` scores, or 0.0 when none measures those (or it is unreadable).

    Reports written before `applies_to` existed measured sampled spread (temperature 1.0), like today's.
    """
    if not ws.exists(NOISE_FLOOR_REPORT):
        return 0.0
    try:
        front, _ = split_front_matter(ws.read_text(NOISE_FLOOR_REPORT))
        if str(front.get("applies_to", "sampled")) != applies_to:
            return 0.0
        value = float(front.get("noise_floor", 0.0))
    except (ValueError, TypeError):
        return 0.0
    return value if value >= 0 else 0.0


def ensure_noise_floor(
    ws: Workspace, task: Task, max_new_tokens: int, data_rel: str, run_id: str, checkpoint: str, sha: str, score: float
) -> str | None:
    """Measure once per workspace, on the first run checkpoint scoring above MIN_GREEDY_SCORE. Returns the commit."""
    if ws.exists(NOISE_FLOOR_REPORT) or score <= MIN_GREEDY_SCORE:
        return None
    rows = parse_rows(ws.read_text(data_rel))
    floor = measure_noise_floor(str(ws.path(checkpoint)), rows, task, max_new_tokens)
    return write_noise_floor(ws, floor, run_id, checkpoint, sha)
