"""bus.write_rules: which agent may write which path."""

from __future__ import annotations

import pytest

from bus.errors import BusError, PathRuleError
from bus.write_rules import check_write, normalize

ALLOWED = [
    ("researcher", "papers/x.md"),
    ("researcher", "hypotheses/x.md"),
    ("curator", "datasets/a/README.md"),
    ("curator", "datasets/a/generate.py"),
    ("curator", "datasets/a/data/train.jsonl"),
    ("trainer", "runs/r1/config.yaml"),
    ("trainer", "runs/r1/metrics.jsonl"),
    ("trainer", "runs/r1/result.json"),
    ("critic", "eval/x.jsonl"),
    ("critic", "runs/r1/evaluation.md"),
    ("critic", "runs/r1/diagnosis.md"),
    ("critic", "runs/r1/curves.png"),
    ("critic", "reports/summary.md"),
    ("supervisor", "plan.md"),
]


@pytest.mark.parametrize(("agent", "path"), ALLOWED)
def test_agent_may_write_its_own_folders(agent, path):
    assert check_write(agent, path) == path


def test_check_write_returns_the_normalized_path():
    assert check_write("researcher", "./papers//x.md") == "papers/x.md"
    assert check_write("researcher", "papers\\x.md") == "papers/x.md"


@pytest.mark.parametrize(
    ("agent", "path", "words"),
    [
        ("researcher", "/etc/passwd", "absolute paths are refused"),
        ("researcher", "\\papers\\x.md", "absolute paths are refused"),
        ("researcher", "C:/papers/x.md", "absolute paths are refused"),
        ("researcher", "", "absolute paths are refused"),
        ("researcher", "papers/../plan.md", "'..' is refused"),
        ("curator", "datasets/a/../../plan.md", "'..' is refused"),
        ("supervisor", ".git/config", ".git/ belongs to intern itself"),
        ("supervisor", ".git/hooks/post-commit", ".git/ belongs to intern itself"),
        ("supervisor", ".intern/lock", ".intern/ belongs to intern itself"),
    ],
)
def test_unsafe_paths_are_refused(agent, path, words):
    with pytest.raises(PathRuleError) as info:
        check_write(agent, path)
    assert words in str(info.value)


def test_trainer_may_not_write_the_evaluation_split():
    with pytest.raises(PathRuleError) as info:
        check_write("trainer", "eval/test.jsonl")
    msg = str(info.value)
    assert "trainer may not write eval/test.jsonl" in msg
    assert "it belongs to critic" in msg
    assert "runs/*/config.yaml" in msg  # names what the trainer may write


def test_trainer_may_not_write_the_critics_evaluation():
    with pytest.raises(PathRuleError, match=r"runs/r1/evaluation\.md: it belongs to critic"):
        check_write("trainer", "runs/r1/evaluation.md")


@pytest.mark.parametrize(
    ("agent", "path", "owner"),
    [
        ("researcher", "runs/r1/config.yaml", "trainer"),
        ("critic", "papers/x.md", "researcher"),
        ("curator", "plan.md", "supervisor"),
        ("supervisor", "datasets/a/README.md", "curator"),
        ("trainer", "hypotheses/h1.md", "researcher"),
    ],
)
def test_another_agents_folder_is_refused_naming_the_owner(agent, path, owner):
    with pytest.raises(PathRuleError, match=f"it belongs to {owner}"):
        check_write(agent, path)


@pytest.mark.parametrize(
    ("agent", "path"),
    [
        ("researcher", "papers/sub/x.md"),  # `*` is exactly one path part
        ("curator", "datasets/a"),  # `**` needs at least one part below the dataset
        ("trainer", "runs/r1/checkpoint/model.bin"),
        ("supervisor", "notes.md"),
    ],
)
def test_paths_outside_the_patterns_are_refused(agent, path):
    with pytest.raises(PathRuleError, match=f"{agent} may not write"):
        check_write(agent, path)


def test_unowned_path_says_no_agent_owns_it():
    with pytest.raises(PathRuleError, match="no agent owns it"):
        check_write("critic", "secrets.txt")


def test_unknown_agent_is_refused():
    with pytest.raises(PathRuleError, match="unknown agent 'intruder'; agents are researcher, curator"):
        check_write("intruder", "papers/x.md")


def test_path_rule_error_is_a_bus_error():
    assert issubclass(PathRuleError, BusError)


def test_normalize_keeps_relative_posix_paths():
    assert normalize("runs/r1/metrics.jsonl") == "runs/r1/metrics.jsonl"
    assert normalize("runs\\r1\\metrics.jsonl") == "runs/r1/metrics.jsonl"
