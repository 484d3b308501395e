"""The deterministic reader on arXiv's HTML rendering (a recorded page in LaTeXML's format) and on plain text."""

from __future__ import annotations

from agents.researcher.net import Net
from agents.researcher.reading import extract, extract_knobs, parse_html, read_full_text, table_results


def test_sections_and_tables_come_out_of_latexml_html(recorded):
    sections, tables = parse_html(recorded("arxiv_html_2509.01234.html"))
    headings = [h for h, _ in sections]
    assert "3 Method" in headings and "4.1 Implementation details" in headings and "5 Results" in headings
    method = dict(sections)["3 Method"]
    assert "\\epsilon_{high}=0.28" in method  # MathML is read through its alttext
    assert "ϵ" not in method  # and its presentation glyphs are not doubled in
    assert tables[0][0] == ["Method", "AIME 2024", "MATH-500"]


def test_extraction_reads_the_method_setup_and_results_sections_only(recorded):
    sections, tables = parse_html(recorded("arxiv_html_2509.01234.html"))
    found = extract(" ".join(t for _, t in sections), sections, tables)
    knobs = found["hyperparameters"]
    # The introduction's "learning rate of 3e-6" is someone else's setting: not extracted.
    assert knobs["learning_rate"] == ["1e-6"]
    assert knobs["batch_size"] == ["512"]
    assert knobs["num_generations"] == ["16"]
    assert knobs["beta"] == ["0.001"]
    assert knobs["epsilon"] == ["0.28"]
    assert knobs["temperature"] == ["1.0"]
    assert {"AIME 2024", "MATH-500", "DAPO-Math-17k"} <= set(found["datasets"])
    assert found["results"] == [
        "AIME 2024 + GRPO -> 30.2",
        "MATH-500 + GRPO -> 80.1",
        "AIME 2024 + GRPO + clip-higher -> 38.5",
        "MATH-500 + GRPO + clip-higher -> 84.0",
    ]
    assert found["sections"]["method"] == ["3 Method"]


def test_knob_regexes_on_plain_text_forms():
    text = (
        "We use a learning rate of 5 × 10^-7 and the KL penalty 0.04; the clipping range is 0.2, "
        "group size G = 8, batch size: 64. Temperature was 0.6."
    )
    knobs = extract_knobs(text)
    assert knobs == {
        "learning_rate": ["5×10^-7"],
        "beta": ["0.04"],
        "epsilon": ["0.2"],
        "num_generations": ["8"],
        "batch_size": ["64"],
        "temperature": ["0.6"],
    }
    assert extract_knobs("no numbers here at all") == {}


def test_tables_without_datasets_or_scores_give_no_rows():
    assert table_results([[["Model", "Params"], ["Qwen", "1.7B"]]]) == []
    assert table_results([[["Method", "GSM8K"], ["12.5", "13.0"], ["SFT", "n/a"]]]) == []


def test_full_text_is_fetched_once_and_cached(services, recorded, tmp_path):
    """Served by the local HTTP server as arXiv serves /html/<id>; the second read makes no request."""
    services.route("/html/2509.01234", recorded("arxiv_html_2509.01234.html"))
    net = Net(online=True, why_offline="", timeout=5, cache_dir=tmp_path, delay=0, backoff=0.01)
    first = read_full_text(net, "2509.01234")
    again = read_full_text(Net(online=False, why_offline="cut", timeout=5, cache_dir=tmp_path), "2509.01234")
    assert first == again and first["hyperparameters"]["learning_rate"] == ["1e-6"]
    assert services.count("/html/") == 1
