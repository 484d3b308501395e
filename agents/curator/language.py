"""The languages of a dataset's rows, for the card's `language` field, from the scripts its text is written in.

A script names a language only where one language dominates it (Han -> zh, Hiragana/Katakana -> ja,
Hangul -> ko, ...); Latin text is counted as English, the only Latin-script language intern's tasks
ship, since telling English from French needs a model this check does not load. A language is listed
when at least `MIN_SHARE` of the rows are written in it (at least one row), most rows first.
"""

from __future__ import annotations

from collections import Counter

MIN_SHARE = 0.01
# (first code point, last code point, language); Latin letters (and anything else) count as "en".
_RANGES = (
    (0x3040, 0x30FF, "ja"),  # Hiragana, Katakana: checked before Han, which Japanese also uses
    (0x4E00, 0x9FFF, "zh"),
    (0x3400, 0x4DBF, "zh"),
    (0xAC00, 0xD7AF, "ko"),
    (0x0400, 0x04FF, "ru"),
    (0x0600, 0x06FF, "ar"),
    (0x0590, 0x05FF, "he"),
    (0x0900, 0x097F, "hi"),
    (0x0E00, 0x0E7F, "th"),
    (0x0370, 0x03FF, "el"),
)


def row_language(text: str) -> str | None:
    """The language of one text by its letters' script; None when it has no letters."""
    counts: Counter[str] = Counter()
    for ch in text:
        code = ord(ch)
        for first, last, language in _RANGES:
            if first <= code <= last:
                counts[language] += 1
                break
        else:
            if ch.isalpha():
                counts["en"] += 1
    if not counts:
        return None
    if counts["ja"]:  # kana mark Japanese even when Han characters outnumber them
        return "ja"
    # One CJK character carries about a word; weigh them so mixed text goes to the language it is written in.
    weights = {lang: n * (3 if lang in ("zh", "ko") else 1) for lang, n in counts.items()}
    return max(weights, key=lambda lang: weights[lang])


def detect_languages(rows: list[dict], fields: tuple[str, ...] = ("prompt", "completion")) -> list[str]:
    """The card's `language` list: the languages of the rows' text, most rows first; ["en"] when no text."""
    counts = Counter(
        lang for row in rows if (lang := row_language(" ".join(str(row.get(f) or "") for f in fields))) is not None
    )
    if not counts:
        return ["en"]
    least = max(1, int(MIN_SHARE * len(rows)))
    return [lang for lang, n in counts.most_common() if n >= least]
