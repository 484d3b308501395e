"""The README's layout section lists every top-level entry of agents/ and bus/: a newcomer's map stays whole."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Layout of this repository")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def top_level_entries() -> list[str]:
    entries = []
    for folder in ("agents", "bus"):
        for child in sorted((ROOT / folder).iterdir()):
            if child.name.startswith(("_", ".")) or (child.is_file() and child.suffix != ".py"):
                continue
            entries.append(f"{folder}/{child.name}" + ("/" if child.is_dir() else ""))
    return entries


def test_every_top_level_entry_of_agents_and_bus_is_in_the_readme_layout():
    section = layout_section()
    missing = [e for e in top_level_entries() if f"`{e}`" not in section]
    assert not missing, f"README.md's layout section does not list: {', '.join(missing)}"


def test_the_layout_names_nothing_that_is_gone():
    section = layout_section()
    named = re.findall(r"`((?:agents|bus)/[^`\s]*)`", section)
    gone = [n for n in named if not (ROOT / n).exists()]
    assert not gone, f"README.md's layout section names what does not exist: {', '.join(gone)}"
