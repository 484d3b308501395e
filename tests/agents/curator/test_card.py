"""The dataset card round-trips: the bus validates it, huggingface_hub loads it, `datasets` loads its data."""

from __future__ import annotations

import pytest

from agents.critic.evaluate import ensure_eval_split
from agents.curator.curator import curator_step, dataset_name
from bus import Workspace
from bus.errors import ArtifactError
from bus.schemas import DatasetCard


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> tuple[Workspace, str]:
    ws = Workspace.init(tmp_path_factory.mktemp("card") / "ws")
    ensure_eval_split(ws, ws.goal())
    outcome = curator_step(ws)
    assert outcome.ok, outcome.summary
    return ws, dataset_name(ws.goal(), ws.root)


def test_card_loads_with_huggingface_hub(curated):
    from huggingface_hub import DatasetCard as HubDatasetCard

    ws, name = curated
    hub = HubDatasetCard.load(ws.path(f"datasets/{name}/README.md"))
    assert hub.data.license == "apache-2.0"
    assert hub.data.task_categories == ["text-generation"]
    assert hub.data.size_categories == ["1K<n<10K"]
    assert hub.data.source_datasets == ["original"]
    card = ws.load(f"datasets/{name}/README.md")
    # The config is named by the rows' hash: `datasets` caches a local folder by folder and config name.
    assert hub.data.configs == [
        {"config_name": f"data-{card.data_sha256[:12]}", "data_files": [{"split": "train", "path": "data/train.jsonl"}]}
    ]
    assert hub.data.column_mapping["synthetic"]["prompt"] == "prompt"
    assert "## Quality gate" in hub.text


def test_data_loads_with_datasets_load_dataset(curated):
    import datasets

    ws, name = curated
    loaded = datasets.load_dataset(str(ws.path(f"datasets/{name}")))
    card = ws.load(f"datasets/{name}/README.md")
    assert list(loaded) == ["train"]
    assert loaded["train"].num_rows == card.rows == 4000
    assert loaded["train"].column_names == card.columns


def test_card_is_our_artifact_and_card_json_has_the_figures(curated):
    import json

    ws, name = curated
    card = ws.load(f"datasets/{name}/README.md")
    assert isinstance(card, DatasetCard)
    assert card.verdict == "usable with warnings" and card.rows_in == 4000
    figures = json.loads(ws.read_text(f"datasets/{name}/card.json"))
    assert figures["data_sha256"] == card.data_sha256
    assert figures["sources"]["synthetic"]["kept"] == 4000
    assert figures["sources"]["synthetic"]["figures"]["slices"]["carry"]["rows"] == card.slices["carry"].rows


def test_a_rejected_card_must_say_why_and_may_have_no_rows(make_card):
    rejected = make_card(rows=0, verdict="rejected", verdict_reasons=["no row survived the gate (too_hard 10)"])
    assert rejected.rows == 0
    with pytest.raises(ValueError, match="must say why"):
        make_card(rows=0, verdict="rejected")
    with pytest.raises(ValueError, match="needs at least one row"):
        make_card(rows=0)


def test_a_human_edit_that_breaks_the_card_is_named_by_the_bus(curated):
    ws, name = curated
    rel = f"datasets/{name}/README.md"
    broken = ws.read_text(rel).replace("verdict: usable with warnings", "verdict: fine")
    with pytest.raises(ArtifactError, match="verdict"):
        from bus.artifacts import parse_artifact

        parse_artifact(broken, DatasetCard, rel)
