"""Find candidate training datasets on the Hugging Face Hub and shortlist them by fit.

Search terms come from the goal (the task's name and subject, a custom dataset's name).
`HfApi.list_datasets(search=..., sort="downloads")` lists candidates; for each, `dataset_info(...,
files_metadata=True)` gives its card data (license, language, task categories) and whether it is
gated, and the dataset viewer's `/info` endpoint gives its columns and split sizes. A candidate is
shortlisted only if its columns map onto the task's prompt and answer (agents/curator/columns.py);
it is then ranked by license, language, size and downloads. Gated or unreachable candidates are
reported with the reason and never retried within the step. Offline (HF_HUB_OFFLINE=1) the search
is skipped with one note; every call has a timeout, so nothing hangs.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import asdict, dataclass, field

from agents.curator.columns import MappingError, detect_mapping
from bus.schemas import Goal

DATASETS_SERVER = "https://datasets-server.huggingface.co"
VIEWER_ENV = "INTERN_DATASETS_SERVER"  # another dataset viewer (a mirror, or a test's local server)
TIMEOUT_SECONDS = 10.0
TERMS = {
    "addition": ["addition", "arithmetic"],
    "gsm8k": ["gsm8k", "grade school math"],
    "math": ["competition math", "MATH"],
    "gpqa": ["gpqa", "graduate-level science questions"],
}
PERMISSIVE = {
    "apache-2.0",
    "mit",
    "cc-by-4.0",
    "cc-by-sa-4.0",
    "cc0-1.0",
    "odc-by",
    "bsd-3-clause",
    "cdla-permissive-2.0",
}
_PREFERRED_CONFIGS = ("default", "main")


@dataclass
class Candidate:
    id: str
    downloads: int = 0
    license: str | None = None
    language: list[str] = field(default_factory=list)
    gated: bool = False
    config: str | None = None
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    train_rows: int | None = None
    score: float = 0.0
    problem: str | None = None  # why it is not shortlisted


@dataclass
class Discovery:
    shortlist: list[Candidate]
    rejected: list[Candidate]
    notes: list[str]

    def to_dict(self) -> dict:
        return {
            "shortlist": [asdict(c) for c in self.shortlist],
            "rejected": [asdict(c) for c in self.rejected],
            "notes": self.notes,
        }


def search_terms(goal: Goal) -> list[str]:
    terms = list(TERMS.get(goal.task.name, []))
    if goal.task.dataset and "/" in goal.task.dataset and not goal.task.dataset.startswith((".", "/", "~")):
        terms.insert(0, goal.task.dataset.split("/")[-1])
    return terms or [goal.task.name]


def offline() -> bool:
    from huggingface_hub import constants

    from agents.models.environment import set_offline_flags_if_offline

    set_offline_flags_if_offline()
    return os.environ.get("HF_HUB_OFFLINE") == "1" or constants.is_offline_mode()


def discover(goal: Goal, api=None, viewer: str | None = None, timeout: float = TIMEOUT_SECONDS) -> Discovery:
    """Search, read, judge. `api` is an `HfApi` (its `endpoint` decides which Hub); `viewer` the dataset viewer."""
    if offline():
        return Discovery([], [], ["Hub search skipped: this machine is offline (HF_HUB_OFFLINE=1)"])
    from huggingface_hub import HfApi

    api = api or HfApi()
    viewer = viewer or os.environ.get(VIEWER_ENV, DATASETS_SERVER)
    notes: list[str] = []
    found: dict[str, Candidate] = {}
    for term in search_terms(goal):
        try:
            listed = _with_timeout(
                lambda t=term: list(api.list_datasets(search=t, sort="downloads", limit=goal.data.hub_candidates)),
                timeout,
            )
        except Exception as exc:
            notes.append(f"Hub search for {term!r} failed ({_one_line(exc)}); not retried")
            break
        for info in listed:
            found.setdefault(info.id, Candidate(info.id, downloads=info.downloads or 0))
    shortlist, rejected = [], []
    for candidate in list(found.values())[: goal.data.hub_candidates]:
        judge(api, candidate, viewer, timeout)
        (rejected if candidate.problem else shortlist).append(candidate)
    shortlist.sort(key=lambda c: (-c.score, c.id))
    notes.append(f"Hub search for {', '.join(search_terms(goal))}: {len(shortlist)} shortlisted, {len(rejected)} not")
    return Discovery(shortlist, rejected, notes)


def judge(api, candidate: Candidate, viewer: str, timeout: float) -> None:
    """Fill in a candidate's card data, columns and score, or its problem. One try per request."""
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        info = api.dataset_info(candidate.id, files_metadata=True, timeout=timeout)
    except GatedRepoError:
        candidate.gated, candidate.problem = True, "gated: accept its terms on the Hub and log in to use it"
        return
    except RepositoryNotFoundError:
        candidate.problem = "not found (private, or deleted since the search)"
        return
    except Exception as exc:
        candidate.problem = f"unreachable: {_one_line(exc)}"
        return
    card = info.card_data
    candidate.downloads = info.downloads or candidate.downloads
    candidate.license = _first(getattr(card, "license", None)) if card else None
    candidate.language = _as_list(getattr(card, "language", None)) if card else []
    if info.gated:
        candidate.gated = True
        candidate.problem = f"gated ({info.gated}): accept its terms on the Hub and log in to use it"
        return
    try:
        candidate.config, candidate.columns, candidate.train_rows = viewer_schema(viewer, candidate.id, timeout)
    except Exception as exc:
        candidate.problem = f"schema unreadable from the dataset viewer: {_one_line(exc)}"
        return
    try:
        candidate.mapping = detect_mapping(candidate.columns)
    except MappingError as exc:
        candidate.problem = str(exc).split(";")[0]
        return
    candidate.score = fit_score(candidate)


def viewer_schema(viewer: str, dataset: str, timeout: float) -> tuple[str, list[str], int | None]:
    """(config, column names, rows in its train split) from the dataset viewer's /info endpoint."""
    import httpx

    response = httpx.get(f"{viewer.rstrip('/')}/info", params={"dataset": dataset}, timeout=timeout)
    response.raise_for_status()
    configs = response.json().get("dataset_info") or {}
    if not configs:
        raise ValueError("the viewer has no schema for it")
    name = next((c for c in _PREFERRED_CONFIGS if c in configs), next(iter(configs)))
    config = configs[name]
    train = (config.get("splits") or {}).get("train") or {}
    return name, list(config.get("features") or {}), train.get("num_examples")


def fit_score(c: Candidate) -> float:
    """Columns already map (required); then licence, language, size and popularity."""
    score = 3.0
    if c.license in PERMISSIVE:
        score += 1.0
    elif c.license not in (None, "unknown"):
        score -= 1.0  # non-commercial or custom terms: usable only after a human reads them
    if not c.language or "en" in c.language:
        score += 0.5
    if c.train_rows is not None:
        score += 1.0 if c.train_rows >= 1000 else -1.0 if c.train_rows < 100 else 0.0
    return round(score + math.log10(1 + c.downloads) / 2, 3)


def _with_timeout(call, timeout: float):
    """Run `call` in a daemon thread: `list_datasets` takes no timeout, and a dead network must not hang the loop."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = call()
        except Exception as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _first(value) -> str | None:
    return value[0] if isinstance(value, list) and value else value if isinstance(value, str) else None


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value] if isinstance(value, str) else []


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"
