"""The process owner's classification rules (`classification.json` in the process folder): their format, and
what is wrong with a file (checked with the model at deploy time, `engine.workflow.deploy`). The engine's use of
them is `engine.complaints.classify`; the format is in docs/data-dictionary.md §16."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from engine.errors import ModelCode
from forms.errors import FieldError, error

RULES_FILE = "classification.json"
#: The rules' keys and the intake form's field each names a value of.
RULE_LISTS = (("categories", "category"), ("levels", "level"))


class WholeWord(str):
    """A rule word that counts only as whole words of the text as segmented (an entry's `whole_words`): "不理"
    in "客服不理我", not in "我不理解" (engine.complaints.classify)."""

    __slots__ = ()


@dataclass(frozen=True)
class Rules:
    """The parsed rules: (category, department, words) and (level, words), each in the file's order; an entry's
    `whole_words` are among its words as `WholeWord`s."""

    categories: tuple[tuple[str, str | None, tuple[str, ...]], ...] = ()
    levels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    default_category: str | None = None
    default_level: str | None = None


def rules_problems(text: str, allowed: dict[str, list] | None = None) -> list[FieldError]:
    """What is wrong with a rules file (empty when it can be used), each a `ModelCode` naming the entry.
    `allowed`: the values the intake form offers for "category" and "level" (a rule naming another could
    never be chosen)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        return [error(ModelCode.RULES_INVALID_JSON, line=err.lineno, column=err.colno, detail=err.msg)]
    if not isinstance(document, dict):
        return [error(ModelCode.RULES_NOT_OBJECT)]
    problems = []
    for list_name, key in RULE_LISTS:
        entries = document.get(list_name, [])
        if not isinstance(entries, list):
            problems.append(error(ModelCode.RULES_NOT_LIST, list=list_name))
            continue
        for number, entry in enumerate(entries, 1):
            where = f"{list_name}[{number}]"
            if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
                problems.append(error(ModelCode.RULES_ENTRY_NEEDS_KEY, entry=where, key=key))
            elif not isinstance(entry.get("words"), list) or not entry["words"] \
                    or not all(isinstance(w, str) and w.strip() for w in entry["words"]):
                problems.append(error(ModelCode.RULES_ENTRY_NEEDS_WORDS, entry=where, value=entry[key]))
            elif not isinstance(entry.get("whole_words", []), list) \
                    or not all(isinstance(w, str) for w in entry.get("whole_words", [])):
                problems.append(error(ModelCode.RULES_NOT_LIST, list=f"{where}.whole_words"))
            elif allowed and allowed.get(key) and entry[key] not in allowed[key]:
                problems.append(error(ModelCode.RULES_VALUE_NOT_OFFERED, entry=where, key=key, value=entry[key],
                                      options=", ".join(map(str, allowed[key]))))
    return problems


@lru_cache(maxsize=16)
def parse_rules(text: str) -> Rules:
    """The rules of a rules file; entries with problems (see `rules_problems`) are left out."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return Rules()
    if not isinstance(document, dict):
        return Rules()

    def listed(entry: dict, key: str) -> tuple[str, ...]:
        given = entry.get(key)
        return tuple(w.strip().casefold() for w in given if isinstance(w, str) and w.strip()) \
            if isinstance(given, list) else ()

    def words(entry: dict) -> tuple[str, ...]:
        plain = listed(entry, "words")
        return plain + tuple(WholeWord(w) for w in listed(entry, "whole_words")) if plain else ()

    def entries(name: str) -> list[dict]:
        value = document.get(name)
        return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []

    given = document.get("default")
    default: dict = given if isinstance(given, dict) else {}
    return Rules(
        categories=tuple((e["category"], e.get("department") if isinstance(e.get("department"), str) else None,
                          words(e)) for e in entries("categories") if isinstance(e.get("category"), str) and words(e)),
        levels=tuple((e["level"], words(e)) for e in entries("levels") if isinstance(e.get("level"), str) and words(e)),
        default_category=default.get("category") if isinstance(default.get("category"), str) else None,
        default_level=default.get("level") if isinstance(default.get("level"), str) else None,
    )
