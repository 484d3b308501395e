"""`intern export`: a folder plain transformers loads, a card huggingface_hub reads, --verify, --push."""

from __future__ import annotations

import json
import shutil

import pytest
from huggingface_hub import ModelCard, constants

from agents.cli import main
from agents.export.export import ExportError, export_model, push_folder
from bus import sha256_tree

from ..trainer.launchers.hub_server import FakeHub, serve

TOKEN = "hf_" + "y" * 34


def test_the_best_run_exports_loads_and_its_card_tells_the_chain(exportable, tmp_path):
    ws = exportable
    out = tmp_path / "exported"
    done = export_model(ws, out, verify=True, say=lambda _: None)
    assert done.run_id == "run-001" and done.origin.ok

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out)
    AutoTokenizer.from_pretrained(out)
    assert (out / "model.safetensors").exists() and (out / "generation_config.json").exists()
    assert model.config.model_type == "qwen2"

    ev = ws.load("runs/run-001/evaluation.md")
    assert done.verified_score == pytest.approx(ev.score, abs=1e-9)

    card = ModelCard.load(out / "README.md")
    data = card.data
    assert data.library_name == "transformers" and data.license == "apache-2.0"
    assert {"intern", "sft", "addition"} <= set(data.tags)
    assert "addition-d2-teacher50-s0" in data.datasets
    assert data.base_model is None  # embedded:tiny is not a Hub id; the card says what it is instead
    metrics = {r.metric_type: r.metric_value for r in data.eval_results}
    assert metrics["exact_match"] == ev.score
    assert (metrics["exact_match_ci95_low"], metrics["exact_match_ci95_high"]) == (ev.ci_low, ev.ci_high)
    assert "pass@4" in metrics
    body = card.text
    head = ws.repo.head.commit.hexsha
    split = json.loads(json.dumps(ws.load("runs/run-001/evaluation.md").split_sha256))
    for expected in (
        "`run-001`: SFT from the base model",
        ws.load("datasets/addition-d2-teacher50-s0/README.md").data_sha256,
        split,
        ev.grader_sha256,
        head,
        "Human edit of intern.yaml",  # the goal was edited by a human before the run
        "learning_rate: 0.001",  # the config as trained
        "Origin check: ok",
        "Verified at export",
        "Money: $0.00 spent of budget.usd $5.00",
    ):
        assert expected in body, expected
    assert data.to_dict()["intern"]["workspace_commit"] == head


def test_verify_refuses_numbers_it_cannot_reproduce_and_leaves_nothing(exportable, tmp_path):
    ws = exportable
    ev = ws.load("runs/run-001/evaluation.md")
    ev.score = round(min(1.0, ev.score + 0.05), 4)  # a report that claims more than the checkpoint does
    ws.write_artifact("critic", "runs/run-001/evaluation.md", ev, "Evaluate run-001")
    out = tmp_path / "exported"
    with pytest.raises(ExportError, match="no card is written for numbers that do not reproduce"):
        export_model(ws, out, verify=True, say=lambda _: None)
    assert not out.exists() and not list(tmp_path.glob(".exported*"))
    export_model(ws, out, say=lambda _: None)  # without --verify the card carries the report's numbers
    assert (out / "README.md").exists()


def test_the_cli_refuses_a_swapped_checkpoint_in_one_line(exportable, tmp_path, capsys):
    ws = exportable
    from agents.models.refs import materialize_model
    from agents.models.tiny import EMBEDDED_TINY

    ckpt = ws.path("runs/run-001/checkpoint")
    shutil.rmtree(ckpt)
    shutil.copytree(materialize_model(EMBEDDED_TINY, tmp_path / "m", seed=1), ckpt)
    result = ws.load("runs/run-001/result.json")
    result.checkpoint_sha256 = sha256_tree(ckpt)
    ws.path("runs/run-001/result.json").write_text(result.model_dump_json(indent=2))
    code = main(["export", str(ws.root), "--to", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "origin check refused run-001" in err and "weights do not descend from the base" in err
    assert not (tmp_path / "out").exists()


def test_push_uploads_privately_and_the_token_is_nowhere(exportable, tmp_path, monkeypatch):
    hub = FakeHub(token=TOKEN)
    server, _ = serve(hub)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    try:
        out = tmp_path / "exported"
        assert main(["export", str(exportable.root), "--to", str(out), "--push", "tester/tiny-adder"]) == 0
        pushed = hub.files["tester/tiny-adder"]
        assert {"README.md", "model.safetensors", "config.json", "tokenizer.json"} <= set(pushed)
        assert pushed["model.safetensors"] == (out / "model.safetensors").read_bytes()
        assert hub.created == [{"name": "tiny-adder", "visibility": "private"}]
        assert hub.validated and hub.validated[0] == (out / "README.md").read_text()
        for f in out.iterdir():
            assert TOKEN.encode() not in f.read_bytes()
        hub.public.add("tester/open-model")
        hub.files["tester/open-model"] = {}
        with pytest.raises(ExportError, match="tester/open-model exists and is public; pass --public"):
            push_folder(out, "tester/open-model", say=lambda _: None)
        assert hub.files["tester/open-model"] == {}
        monkeypatch.delenv("HF_TOKEN")
        with pytest.raises(ExportError, match="needs a Hugging Face token in HF_TOKEN"):
            push_folder(out, "tester/tiny-adder", say=lambda _: None)
    finally:
        server.shutdown()
        server.server_close()


def test_export_explains_itself_and_asks_where_to_write(exportable, capsys):
    with pytest.raises(SystemExit) as help_exit:
        main(["export", "--help"])
    assert help_exit.value.code == 0 and "does not descend from the goal" in capsys.readouterr().out
    assert main(["export", str(exportable.root)]) == 2
    assert "say where: --to PATH" in capsys.readouterr().err
    assert main(["export", str(exportable.root), "--to", str(exportable.root / "inside")]) == 2
    assert "is inside the workspace" in capsys.readouterr().err


def _tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_force_never_replaces_a_folder_that_holds_the_workspace_or_anything_it_did_not_write(
    exportable, tmp_path, capsys
):
    ws = exportable
    precious = tmp_path / "thesis.txt"
    precious.write_text("three years of work\n")
    before = _tree(tmp_path)
    # --to the folder that holds the workspace (and a file beside it): refused, nothing touched.
    assert main(["export", str(ws.root), "--to", str(tmp_path), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds the workspace" in err
    # A folder of someone else's files, not an earlier export: refused even with --force.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.md").write_text("- keep me\n")
    assert main(["export", str(ws.root), "--to", str(other), "--force"]) == 2
    assert "is not an earlier intern export" in capsys.readouterr().err
    # A file where a folder should be.
    assert main(["export", str(ws.root), "--to", str(precious), "--force"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert _tree(tmp_path) == {**before, "notes/todo.md": b"- keep me\n"}
    assert ws.repo.head.commit.hexsha and (ws.root / ".git").is_dir()


def test_force_replaces_an_earlier_export_but_not_one_a_workspace_was_put_in(exportable, tmp_path, capsys):
    ws = exportable
    out = tmp_path / "exported"
    assert main(["export", str(ws.root), "--to", str(out)]) == 0
    assert json.loads((out / ".intern-export.json").read_text())["run"] == "run-001"
    (out / "stale.txt").write_text("from the last export\n")
    assert main(["export", str(ws.root), "--to", str(out)]) == 2  # without --force: refused
    assert "pass --force" in capsys.readouterr().err
    assert main(["export", str(ws.root), "--to", str(out), "--force"]) == 0
    assert (out / "model.safetensors").exists() and not (out / "stale.txt").exists()
    nested = out / "later-project"  # someone started a workspace inside the old export
    nested.mkdir()
    (nested / "intern.yaml").write_text("goal: mine\n")
    assert main(["export", str(ws.root), "--to", str(out), "--force"]) == 2
    assert "holds a workspace or git repository" in capsys.readouterr().err
    assert (nested / "intern.yaml").read_text() == "goal: mine\n"


def test_a_damaged_checkpoint_is_refused_in_one_line_naming_the_file(exportable, tmp_path, capsys):
    from agents.common import checkpoint_integrity

    ws = exportable
    checkpoint_integrity.record(ws, "runs/run-001/checkpoint")  # as the trainer does when it records the run
    weights = ws.path("runs/run-001/checkpoint/model.safetensors")
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated: safetensors cannot even read its header
    code = main(["export", str(ws.root), "--to", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "origin check refused run-001: runs/run-001/checkpoint/model.safetensors changed" in err
    assert not (tmp_path / "out").exists()
