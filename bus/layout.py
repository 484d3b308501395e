"""The workspace's map: every artifact once, with its path, its schema and the agent that owns it.

Code asks this module for a path (`layout.run_result("run-002")`) instead of spelling it; the write
rules (bus/write_rules.py OWNERSHIP) and the schema lookup (bus/artifacts.py SCHEMA_PATHS) are views of
PLACES. A template's `{name}` is one path part; a trailing `/**` is any number of parts below.
Checkpoints and generated data live here too (they stay out of git, but their place is the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bus.schemas import (
    Artifact,
    DatasetCard,
    Diagnosis,
    DiscardedCheckpoint,
    Evaluation,
    Goal,
    Hypothesis,
    PaperNote,
    RunResult,
    TrainingConfig,
)

GOAL_FILE = "intern.yaml"
PLAN_FILE = "plan.md"
PAPERS = "papers"
HYPOTHESES = "hypotheses"
DATASETS = "datasets"
RUNS = "runs"
EVAL = "eval"
REPORTS = "reports"
CHECKPOINT = "checkpoint"  # a run's saved model, inside its run folder
DATASET_CARD = "README.md"  # a dataset's card, inside its folder (Hugging Face's convention)


@dataclass(frozen=True)
class Place:
    """Where one kind of artifact lives, who may write it, and what it must parse as."""

    template: str
    owner: str  # an agent, or "human" for what only people write
    schema: type[Artifact] | None = None
    grants: bool = False  # the owner may write here (the areas and run files of the write rules)
    what: str = ""

    @property
    def pattern(self) -> str:
        return re.sub(r"\{\w+\}", "*", self.template)

    def path(self, **parts: str) -> str:
        return self.template.format(**parts)


# Order matters for schemas: the first matching place names the schema.
PLACES: tuple[Place, ...] = (
    Place(GOAL_FILE, "human", Goal, what="the goal: model, task, target, budget"),
    Place(PLAN_FILE, "supervisor", grants=True, what="the plan: goal, status, queue, rules, questions, notes"),
    Place(f"{PAPERS}/{{file}}", "researcher", grants=True, what="the researcher's reading"),
    Place(f"{PAPERS}/graph.json", "researcher", what="the citation graph"),
    Place(f"{PAPERS}/graph.png", "researcher", what="the citation graph, drawn"),
    Place(f"{PAPERS}/{{key}}.md", "researcher", PaperNote, what="one paper note"),
    Place(f"{HYPOTHESES}/{{file}}", "researcher", grants=True, what="hypotheses"),
    Place(f"{HYPOTHESES}/{{name}}.md", "researcher", Hypothesis, what="one hypothesis"),
    Place(f"{DATASETS}/{{dataset}}/**", "curator", grants=True, what="a training dataset's folder"),
    Place(f"{DATASETS}/{{dataset}}/{DATASET_CARD}", "curator", DatasetCard, what="its card"),
    Place(f"{RUNS}/{{run}}/config.yaml", "trainer", TrainingConfig, grants=True, what="a run's config"),
    Place(f"{RUNS}/{{run}}/metrics.jsonl", "trainer", grants=True, what="its logged metrics"),
    Place(f"{RUNS}/{{run}}/result.json", "trainer", RunResult, grants=True, what="how it ended"),
    Place(f"{RUNS}/{{run}}/checkpoint-discarded.json", "trainer", DiscardedCheckpoint, grants=True),
    Place(f"{RUNS}/{{run}}/{CHECKPOINT}", "trainer", what="its model (not in git; hashed in result.json)"),
    Place(f"{RUNS}/{{run}}/evaluation.md", "critic", Evaluation, grants=True, what="its held-out evaluation"),
    Place(f"{REPORTS}/base-evaluation.md", "critic", Evaluation, what="the base model's evaluation"),
    Place(f"{RUNS}/{{run}}/diagnosis.md", "critic", Diagnosis, grants=True, what="the critic's reading of it"),
    Place(f"{RUNS}/{{run}}/curves.png", "critic", grants=True, what="its training curves"),
    Place(f"{EVAL}/**", "critic", grants=True, what="the held-out split, written once by the critic"),
    Place(f"{EVAL}/{{task}}/test.jsonl", "critic", what="the held-out split"),
    Place(f"{EVAL}/{{task}}/README.md", "critic", what="its card, with the split's and grader's hashes"),
    Place(f"{REPORTS}/**", "critic", grants=True, what="reports across runs"),
    Place(f"{REPORTS}/summary.md", "critic", what="the summary"),
    Place(f"{REPORTS}/progress.png", "critic", what="the score per run, drawn"),
    Place(f"{REPORTS}/tree.png", "critic", what="the experiment tree, drawn"),
    Place(f"{REPORTS}/noise-floor.md", "critic", what="how much a sampled score moves with the seed"),
    Place(f"{REPORTS}/contamination/{{dataset}}.json", "critic", what="rows of a dataset found in the split"),
)

SUMMARY = f"{REPORTS}/summary.md"
BASE_EVALUATION = f"{REPORTS}/base-evaluation.md"
PROGRESS_PNG = f"{REPORTS}/progress.png"
TREE_PNG = f"{REPORTS}/tree.png"
NOISE_FLOOR = f"{REPORTS}/noise-floor.md"
CONTAMINATION_DIR = f"{REPORTS}/contamination"
PAPER_GRAPH_JSON = f"{PAPERS}/graph.json"
PAPER_GRAPH_PNG = f"{PAPERS}/graph.png"


def ownership() -> dict[str, tuple[str, ...]]:
    """Agent -> the path patterns it may write (bus/write_rules.py's OWNERSHIP)."""
    owners: dict[str, tuple[str, ...]] = {}
    for place in PLACES:
        if place.grants:
            owners[place.owner] = (*owners.get(place.owner, ()), place.pattern)
    return owners


def schema_paths() -> tuple[tuple[str, type[Artifact]], ...]:
    """(pattern, schema) for every place that parses as an artifact, first match first."""
    return tuple((p.pattern, p.schema) for p in PLACES if p.schema is not None)


def paper_note(key: str) -> str:
    return f"{PAPERS}/{key}.md"


def hypothesis(name: str) -> str:
    """`hypotheses/<name>.md`; `name` without the folder or the suffix."""
    return f"{HYPOTHESES}/{name}.md"


def dataset_dir(name: str) -> str:
    return f"{DATASETS}/{name}"


def dataset_card(name: str) -> str:
    return f"{DATASETS}/{name}/{DATASET_CARD}"


def dataset_file(name: str, file: str) -> str:
    """A file inside a dataset's folder (`file` may hold subfolders, e.g. `data/train.jsonl`)."""
    return f"{DATASETS}/{name}/{file}"


def run_dir(run: str) -> str:
    return f"{RUNS}/{run}"


def run_file(run: str, name: str) -> str:
    """Any file inside a run's folder; prefer the named helpers below for the artifacts."""
    return f"{RUNS}/{run}/{name}"


def run_config(run: str) -> str:
    return f"{RUNS}/{run}/config.yaml"


def run_metrics(run: str) -> str:
    return f"{RUNS}/{run}/metrics.jsonl"


def run_result(run: str) -> str:
    return f"{RUNS}/{run}/result.json"


def run_discarded(run: str) -> str:
    return f"{RUNS}/{run}/checkpoint-discarded.json"


def run_checkpoint(run: str) -> str:
    return f"{RUNS}/{run}/{CHECKPOINT}"


def run_evaluation(run: str) -> str:
    return f"{RUNS}/{run}/evaluation.md"


def run_diagnosis(run: str) -> str:
    return f"{RUNS}/{run}/diagnosis.md"


def run_curves(run: str) -> str:
    return f"{RUNS}/{run}/curves.png"


def eval_dir(task: str) -> str:
    return f"{EVAL}/{task}"


def eval_split(task: str) -> str:
    """The held-out split of a task: one file, one place, written once by the critic."""
    return f"{EVAL}/{task}/test.jsonl"


def eval_card(task: str) -> str:
    return f"{EVAL}/{task}/README.md"


def contamination_report(dataset: str) -> str:
    return f"{CONTAMINATION_DIR}/{dataset}.json"


# Globs over the places above, for code that lists them (Workspace.glob, state._valid).
PAPER_NOTES = f"{PAPERS}/*.md"
HYPOTHESIS_FILES = f"{HYPOTHESES}/*.md"
DATASET_CARDS = f"{DATASETS}/*/{DATASET_CARD}"
RUN_EVALUATIONS = f"{RUNS}/*/evaluation.md"


def under(path: str, folder: str) -> bool:
    """Whether a workspace-relative path lies inside one of the top folders (`layout.DATASETS`, ...)."""
    return path.startswith(f"{folder}/")
