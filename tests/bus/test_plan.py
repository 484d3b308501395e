"""bus.plan: plan.md split in sections, rendered back as it was, edited only where the supervisor may."""

from __future__ import annotations

from importlib import resources

import pytest

from bus.errors import PathRuleError
from bus.plan import DONE_MARK, Plan, check_supervisor_edit

TEMPLATE = resources.files("workspace_template").joinpath("plan.md").read_text(encoding="utf-8")

HAND_EDITED = """# Plan

The supervisor keeps this file.\x20\x20
Trailing spaces and odd spacing are kept.

## Goal

Reach 0.9 exact match on addition.

## Queue
<!-- Steps run from the top. -->
- [ ] trainer: rerun with lr 5e-4
  - [x] critic: evaluate run-001 — done in a1b2c3d4
- [X] researcher: read the GRPO paper
please look at the carries first

* not a checklist item


## Rules
<!-- Your constraints. -->
- max runs: 3
-  no grpo before sft

## Questions
- What is the teacher error?

## Status

Running run-002.

## Notes from Ada
Free text in a section the supervisor does not know.
"""


# --- parse and render ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [TEMPLATE, HAND_EDITED], ids=["template", "hand-edited"])
def test_parse_render_is_byte_exact(text):
    assert Plan.parse(text).render() == text


def test_template_sections():
    plan = Plan.parse(TEMPLATE)
    assert [name for name, _ in plan.sections] == ["Goal", "Queue", "Rules", "Questions", "Status", "Notes"]
    assert plan.preamble.startswith("# Plan\n")
    assert plan.queue() == []
    assert plan.rules() == []
    assert plan.questions() == []


def test_template_queue_comment_is_not_a_stray_line():
    assert Plan.parse(TEMPLATE).stray_queue_lines() == []


def test_multi_line_comments_are_not_stray_lines():
    plan = Plan.parse("## Queue\n<!-- a comment\nthat goes on\n-->\n- [ ] trainer: x\nstray after\n")
    assert plan.stray_queue_lines() == ["stray after"]


def test_one_line_comments_are_not_stray_lines():
    plan = Plan.parse("## Queue\n<!-- a comment -->\n- [ ] trainer: x\n\n")
    assert plan.stray_queue_lines() == []


@pytest.mark.parametrize(
    "text",
    ["## Queue\n- [ ] trainer: x", "## Queue\n- [ ] trainer: x\n\n\n", "\n## Queue\n- [ ] trainer: x\n"],
    ids=["no-final-newline", "trailing-blank-lines", "leading-blank-line"],
)
def test_parse_render_is_byte_exact_at_the_edges(text):
    assert Plan.parse(text).render() == text


def test_unchanged_sections_render_unchanged_after_an_edit():
    plan = Plan.parse(HAND_EDITED)
    plan.set_section("Status", "Run-002 finished.")
    out = plan.render()
    assert "## Status\n\nRun-002 finished.\n\n## Notes from Ada\n" in out
    before, after = HAND_EDITED.split("## Status")[0], out.split("## Status")[0]
    assert before == after


def test_section_lookup_is_case_insensitive():
    plan = Plan.parse("## queue\n- [ ] trainer: x\n")
    assert plan.queue()[0].action == "x"
    assert len(plan.sections) == 1


# --- queue --------------------------------------------------------------------------------


def test_queue_parses_agent_action_and_checked_state():
    items = Plan.parse(HAND_EDITED).queue()
    assert [(i.agent, i.action, i.checked) for i in items] == [
        ("trainer", "rerun with lr 5e-4", False),
        ("critic", "evaluate run-001", True),
        ("researcher", "read the GRPO paper", True),
    ]
    assert items[1].text == "critic: evaluate run-001 — done in a1b2c3d4"
    section = Plan.parse(HAND_EDITED).section("Queue")
    assert all(section[i.line_no].lstrip().startswith("- [") for i in items)


def test_queue_item_without_agent_keeps_the_whole_text():
    item = Plan.parse("## Queue\n- [ ] think about carries\n").queue()[0]
    assert item.agent is None
    assert item.action == "think about carries"


def test_queue_agent_is_lowercased():
    item = Plan.parse("## Queue\n- [ ] Trainer: run\n").queue()[0]
    assert (item.agent, item.action) == ("trainer", "run")


def test_tick_marks_done_and_appends_the_note():
    plan = Plan.parse(TEMPLATE)
    plan.append_queue(["trainer: do x", "critic: do y"])
    first = plan.queue()[0]
    plan.tick(first, "run-001")
    items = plan.queue()
    assert items[0].checked and not items[1].checked
    assert plan.section("Queue")[first.line_no] == f"- [x] trainer: do x{DONE_MARK}run-001"
    assert items[0].action == "do x"  # the note is not part of the action


def test_tick_without_note():
    plan = Plan.parse("## Queue\n- [ ] trainer: do x\n")
    plan.tick(plan.queue()[0], "")
    assert plan.render() == "## Queue\n- [x] trainer: do x\n"


def test_append_queue_goes_after_existing_items_and_keeps_comments():
    plan = Plan.parse(TEMPLATE)
    plan.append_queue(["trainer: a"])
    plan.append_queue(["critic: b", "curator: c"])
    queue = plan.section("Queue")
    assert queue[0].startswith("<!--")
    assert [i.text for i in plan.queue()] == ["trainer: a", "critic: b", "curator: c"]
    assert queue[-1] == ""  # one blank line before the next heading
    assert "- [ ] curator: c\n\n## Rules" in plan.render()


def test_stray_queue_lines_are_found():
    assert Plan.parse(HAND_EDITED).stray_queue_lines() == [
        "please look at the carries first",
        "* not a checklist item",
    ]


def test_deleted_queue_section_is_put_back_at_the_end():
    plan = Plan.parse(TEMPLATE)
    plan.sections = [(n, b) for n, b in plan.sections if n != "Queue"]
    assert plan.section("Queue") == ["", ""]
    assert plan.sections[-1][0] == "Queue"
    plan.append_queue(["trainer: x"])
    assert plan.render().endswith("## Queue\n- [ ] trainer: x\n")


def test_set_section_replaces_the_body_only():
    plan = Plan.parse(TEMPLATE)
    plan.set_section("Goal", "\n\nReach 0.9.\nWithin 4 runs.\n\n")
    comment = plan.section("Goal")[0]
    assert comment.startswith("<!-- The supervisor rewrites this section")  # who owns it stays said
    assert plan.section("Goal") == [comment, "", "Reach 0.9.", "Within 4 runs.", ""]
    assert f"## Goal\n{comment}\n\nReach 0.9.\nWithin 4 runs.\n\n## Queue\n" in plan.render()


# --- questions and rules ------------------------------------------------------------------


def test_add_question_dedups():
    plan = Plan.parse(TEMPLATE)
    assert plan.add_question("Which model?") is True
    assert plan.add_question("Which model?") is False
    assert plan.add_question("Which task?") is True
    assert plan.questions() == ["Which model?", "Which task?"]
    assert plan.render().count("- Which model?") == 1


def test_rules_are_read():
    assert Plan.parse(HAND_EDITED).rules() == ["max runs: 3", "no grpo before sft"]


# --- check_supervisor_edit ----------------------------------------------------------------


def _edit(text, fn):
    plan = Plan.parse(text)
    fn(plan)
    return plan.render()


def test_supervisor_may_set_goal_status_tick_append_and_ask():
    def edit(plan):
        plan.set_section("Goal", "New goal.")
        plan.set_section("Status", "New status.")
        plan.tick(plan.queue()[0], "started run-002")
        plan.append_queue(["critic: evaluate run-002"])
        plan.add_question("Is 3 runs a hard limit?")

    check_supervisor_edit(HAND_EDITED, _edit(HAND_EDITED, edit))  # does not raise


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda p: p.section("Rules").append("- max runs: 10"), "may not edit the Rules section"),
        (lambda p: p.section("Rules").pop(-2), "may not edit the Rules section"),
        (lambda p: p.section("Queue").pop(1), "would drop the line '- [ ] trainer: rerun with lr 5e-4'"),
        (lambda p: p.section("Queue").remove("please look at the carries first"), "would drop the line"),
        (lambda p: p.section("Questions").clear(), "would drop the line '- What is the teacher error?'"),
        (lambda p: p.set_section("Notes from Ada", "replaced"), "from Notes from Ada"),
        (lambda p: setattr(p, "sections", [s for s in p.sections if s[0] != "Queue"]), "from Queue"),
        (lambda p: setattr(p, "preamble", "# My plan"), "text above the first section"),
    ],
    ids=[
        "add-rule",
        "drop-rule",
        "drop-queue-item",
        "drop-stray-line",
        "drop-question",
        "rewrite-unknown-section",
        "delete-queue-section",
        "edit-preamble",
    ],
)
def test_supervisor_edit_refusals(edit, words):
    with pytest.raises(PathRuleError, match="plan.md: ") as info:
        check_supervisor_edit(HAND_EDITED, _edit(HAND_EDITED, edit))
    assert words in str(info.value)


def test_rewording_a_queue_item_counts_as_dropping_it():
    new = HAND_EDITED.replace("- [ ] trainer: rerun with lr 5e-4", "- [ ] trainer: rerun with lr 1e-3")
    with pytest.raises(PathRuleError, match="rerun with lr 5e-4"):
        check_supervisor_edit(HAND_EDITED, new)


def test_reordering_queue_items_is_allowed():
    old = "## Queue\n- [ ] trainer: a\n- [ ] critic: b\n"
    check_supervisor_edit(old, "## Queue\n- [ ] critic: b\n- [x] trainer: a — done\n")


def test_snapshot_reads_the_plan_as_data():
    from bus.plan import snapshot

    text = TEMPLATE.replace(
        "## Rules\n",
        "- [x] critic: evaluate the base model — done: base model 0.000\n- [ ] trainer: run sft\nnot an item\n\n## Rules\n- max runs: 3\n",
    )
    snap = snapshot(Plan.parse(text))
    assert [(s.done, s.agent, s.action, s.note) for s in snap.queue] == [
        (True, "critic", "evaluate the base model", "done: base model 0.000"),
        (False, "trainer", "run sft", None),
    ]
    assert snap.unreadable_queue_lines == ["not an item"]
    assert snap.rules == ["max runs: 3"]
