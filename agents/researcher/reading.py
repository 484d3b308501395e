"""Reading a paper without an LLM: its arXiv HTML split into sections and tables, and a deterministic
extractor for what an experiment needs (hyper-parameters, datasets, "dataset + method -> score" rows).

The method, hyper-parameter and results sections are found by their headings; values by regexes that
name their knob (learning rate, batch size, KL beta, clip epsilon, group size, temperature). Abstracts
go through the same extractor. arXiv renders LaTeX math as MathML with an `alttext`; that text is kept.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from agents.researcher import net as netmod
from agents.researcher.net import Net

SECTION_KINDS = {
    "method": ("method", "approach", "algorithm", "objective", "policy optimization"),
    "hyperparameters": ("hyper", "implementation", "training detail", "experimental setup", "setup", "settings"),
    "results": ("result", "experiment", "evaluation", "main", "ablation"),
}
_NUM = r"(\d+(?:\.\d+)?(?:\s*[eE]\s*-?\s*\d+)?(?:\s*(?:×|x|\\times)\s*10\s*\^?\s*\{?\s*[-−]\s*\d+\}?)?)"
KNOB_PATTERNS = {
    "learning_rate": rf"learning[\s-]rate\s*(?:of|is|was|to|=|:|\(lr\))?\s*(?:set to\s*)?{_NUM}",
    "batch_size": r"batch[\s-]size\s*(?:of|is|was|to|=|:)?\s*(\d+)",
    "beta": rf"(?:kl\s*(?:coefficient|penalty|weight|loss coefficient)|\\beta|β)\s*(?:of|is|was|to|=|:)?\s*{_NUM}",
    "epsilon": r"(?:clip(?:ping)?\s*(?:range|ratio|epsilon|threshold|parameter)|\\epsilon|ε)(?:_\{?(?:high|low)\}?)?\s*(?:of|is|was|to|=|:)?\s*(0\.\d+)",
    "num_generations": r"(?:group size\s*(?:of|is|was|=|:|G\s*=)?\s*(\d+)|(\d+)\s*(?:rollouts|responses|samples|completions|generations|outputs)\s*(?:per|for each)\s*(?:prompt|question|problem|query))",
    "temperature": rf"(?:sampling\s*)?temperature\s*(?:of|is|was|to|=|:)?\s*{_NUM}",
}
DATASETS = (
    "GSM8K", "MATH-500", "MATH500", "MATH", "AIME 2024", "AIME 2025", "AIME24", "AIME25", "AIME", "AMC23", "AMC",
    "OlympiadBench", "Minerva", "GPQA", "GPQA-Diamond", "MMLU", "HumanEval", "MBPP", "LiveCodeBench", "Codeforces",
    "DAPO-Math-17k", "NuminaMath", "DeepScaleR", "OpenR1-Math", "s1K", "ARC",
)  # fmt: skip
_DATASET_RE = re.compile(r"\b(" + "|".join(re.escape(d) for d in sorted(DATASETS, key=len, reverse=True)) + r")\b")
_SCORE = re.compile(r"^[-+]?\d+(?:\.\d+)?%?$")
MAX_RESULTS = 20


class _Reader(HTMLParser):
    """Headings, the text under each, and tables as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[list[str]] = [["", ""]]  # [heading, text]
        self.tables: list[list[list[str]]] = []
        self._heading: list[str] | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._skip = 0  # inside <math>, <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "math":
            alt = dict(attrs).get("alttext")
            if alt:
                self._text(f" {alt} ")
            self._skip += 1
        elif tag in ("script", "style"):
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading = []
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("math", "script", "style"):
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.sections.append([" ".join("".join(self._heading).split()), ""])
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self.tables and any(self._row):
                self.tables[-1].append(self._row)
            self._row = None
        elif tag in ("p", "div", "li", "br"):
            self._text("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text(data)

    def _text(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
            return
        if self._cell is not None:
            self._cell.append(data)
        self.sections[-1][1] += data


def parse_html(html: str) -> tuple[list[tuple[str, str]], list[list[list[str]]]]:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    sections = [(h, " ".join(t.split())) for h, t in reader.sections if h or t.strip()]
    return sections, [t for t in reader.tables if t]


def pick_sections(sections: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Section headings by kind (method, hyperparameters, results), in document order."""
    out: dict[str, list[str]] = {kind: [] for kind in SECTION_KINDS}
    for heading, _ in sections:
        low = heading.lower()
        for kind, words in SECTION_KINDS.items():
            if any(w in low for w in words):
                out[kind].append(heading)
    return out


def extract_knobs(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for knob, pattern in KNOB_PATTERNS.items():
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            value = next(g for g in match.groups() if g)
            value = re.sub(r"\s+", "", value).replace("−", "-")
            found.setdefault(knob, [])
            if value not in found[knob]:
                found[knob].append(value)
    return found


def extract_datasets(text: str) -> list[str]:
    return list(dict.fromkeys(_DATASET_RE.findall(text)))


def table_results(tables: list[list[list[str]]]) -> list[str]:
    """'dataset + method -> score' from tables whose header names datasets and whose rows start with a method."""
    out: list[str] = []
    for table in tables:
        header = table[0]
        columns = {i: m.group(1) for i, cell in enumerate(header) if (m := _DATASET_RE.search(cell))}
        if not columns:
            continue
        for row in table[1:]:
            method = row[0] if row else ""
            if not method or _SCORE.match(method):
                continue
            for i, dataset in columns.items():
                if i < len(row) and _SCORE.match(row[i]):
                    out.append(f"{dataset} + {method} -> {row[i]}")
                    if len(out) >= MAX_RESULTS:
                        return out
    return out


def extract(text: str, sections: list[tuple[str, str]] | None = None, tables: list | None = None) -> dict:
    """Everything the deterministic reader pulls from a paper: knobs, datasets, results, the sections it used."""
    sections = sections or []
    kinds = pick_sections(sections)
    focus = [t for h, t in sections if h in kinds["method"] + kinds["hyperparameters"] + kinds["results"]]
    body = " ".join(focus) or text
    return {
        "hyperparameters": extract_knobs(body),
        "datasets": extract_datasets(text),
        "results": table_results(tables or []),
        "sections": kinds,
    }


def read_full_text(net: Net, arxiv_id: str) -> dict:
    """The paper's arXiv HTML, read. Raises NetError or Offline when it cannot be fetched."""
    html = netmod.get_text(net, netmod.ARXIV_HTML.format(arxiv_id))
    sections, tables = parse_html(html)
    text = " ".join(t for _, t in sections)
    return extract(text, sections, tables)
