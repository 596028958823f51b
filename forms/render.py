"""Form schemas → field descriptions for templates, and typed values → readable text.

Pure functions: the caller passes the language, the words of its own UI (yes / no, already
translated) and the time zone; nothing here knows about HTTP or templates.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from markupsafe import Markup, escape

from forms.schema import FormDefinition

ENGLISH = "en"


@dataclass(frozen=True)
class Words:
    """UI words the renderer needs, in the page's language."""

    yes: str = "yes"
    no: str = "no"


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Field:
    """One form field as a template draws it. `values` are the texts to show back (as typed)."""

    name: str
    label: str
    widget: str
    required: bool
    description: str
    help: str
    values: list[str]
    errors: list[str]
    options: list[Option] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> str:
        return self.values[-1] if self.values else ""


# --- model texts in the page's language ------------------------------------------------------------

def text(item: Mapping, key: str, lang: str, fallback: str = "") -> str:
    """The model text `key` of a schema part in `lang`: `key-en` / `x-key-en` for English, else `key`."""
    if lang == ENGLISH:
        for english in (f"x-{key}-en", f"{key}-en"):
            if item.get(english):
                return str(item[english])
    return str(item.get(key) or fallback)


def enum_labels(prop: Mapping, lang: str) -> dict[str, str]:
    """value → label of an enum property (its `x-enum-titles`, or the value itself)."""
    values = _enum(prop)
    titles = prop.get("x-enum-titles-en") if lang == ENGLISH else None
    titles = titles or prop.get("x-enum-titles") or (prop.get("items") or {}).get("x-enum-titles") or []
    return {str(v): str(titles[i]) if i < len(titles) else str(v) for i, v in enumerate(values)}


#: A bilingual model name: Chinese (up to its last Chinese character and the punctuation after it), a space
#: (none needed right after full-width punctuation: "时限（自受理）First response limit"), then English only.
_BILINGUAL = re.compile(r"(?P<zh>.*[\u3000-\u9fff\uff00-\uffef][!-/:-@\[-`{-~]*)"
                        r"(?:\s+|(?<=[\u3000-\u303f\uff00-\uffef]))(?P<en>[A-Za-z][\x20-\x7e]*)")


def task_title(title: str, title_en: str | None, lang: str) -> str:
    """The title of a model element (a task, an end event) in `lang`, from the model: its name, and its
    `title_en` property when it has one. Model names are often bilingual ("中文 English"): show one language
    (docs/MODELLING.md, "Names"). A `title_en` that is not the name's English half (a start event's
    `title_en` names its intake form) still leaves the Chinese half for the Chinese pages."""
    bilingual = _BILINGUAL.fullmatch(title.strip())
    if lang == ENGLISH:
        return title_en or (bilingual["en"] if bilingual else title)
    if title_en and title.endswith(" " + title_en) and len(title) > len(title_en) + 1:
        return title[: -len(title_en) - 1]
    return bilingual["zh"] if bilingual else title


# --- form → fields ---------------------------------------------------------------------------------

def describe_form(form: FormDefinition, lang: str, values: Mapping[str, list[str]],
                  errors: Mapping[str, list[str]], words: Words) -> list[Field]:
    """The fields of `form` in display order, with the raw `values` and `errors` of each."""
    fields = []
    required = set(form.required)
    for name in form.field_names():
        prop = form.properties[name]
        ui = form.ui.get(name) or {}
        widget = _widget(prop, ui)
        shown = [str(v) for v in values.get(name, [])]
        options = []
        if widget in ("select", "radio", "checkboxes"):
            options = [Option(value=v, label=label, selected=v in shown)
                       for v, label in enum_labels(_item_schema(prop), lang).items()]
        elif widget in ("yesno", "checkbox"):
            options = [Option("true", words.yes, "true" in shown),
                       Option("false", words.no, "false" in shown)]
        fields.append(Field(
            name=name, label=text(prop, "title", lang, name), widget=widget, required=name in required,
            description=text(prop, "description", lang), help=text(ui, "ui:help", lang),
            values=shown, errors=list(errors.get(name, [])), options=options, attrs=_attrs(prop, widget),
        ))
    return fields


def _widget(prop: Mapping, ui: Mapping) -> str:
    chosen = ui.get("ui:widget")
    kinds = _kinds(prop)
    if "array" in kinds:
        if chosen == "file":
            return "file"
        return "checkboxes" if _enum(_item_schema(prop)) else "lines"
    if kinds == ["boolean"]:
        return "checkbox" if chosen == "checkbox" else "yesno"
    if _enum(prop):
        return "radio" if chosen == "radio" else "select"
    if kinds[0] in ("number", "integer") and len(kinds) == 1:
        return "number"
    if chosen == "textarea":
        return "textarea"
    if prop.get("format") == "date-time" or chosen == "datetime":
        return "datetime"
    if prop.get("format") == "date" or chosen == "date":
        return "date"
    return "email" if prop.get("format") == "email" else "text"


def _attrs(prop: Mapping, widget: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if widget in ("text", "textarea", "email") and "maxLength" in prop:
        attrs["maxlength"] = prop["maxLength"]
    if widget == "number":
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if key in prop:
                attrs[attr] = prop[key]
        attrs["step"] = "1" if _kinds(prop) == ["integer"] else "any"
    return attrs


def _kinds(prop: Mapping) -> list[str]:
    kinds = prop.get("type", "string")
    return list(kinds) if isinstance(kinds, list) else [kinds]


def _item_schema(prop: Mapping) -> Mapping:
    return (prop.get("items") or {}) if "array" in _kinds(prop) else prop


def _enum(prop: Mapping) -> list:
    return list(prop.get("enum") or [])


# --- values: typed ↔ as typed ------------------------------------------------------------------------

def raw_values(form: FormDefinition, data: Mapping[str, Any], tz: tzinfo) -> dict[str, list[str]]:
    """Typed values (a draft-less form's defaults, the complaint's data) as the texts a form shows."""
    raw: dict[str, list[str]] = {}
    for name, value in data.items():
        prop = form.properties.get(name)
        if prop is None or value is None:
            continue
        items = value if isinstance(value, list) else [value]
        raw[name] = [_as_text(prop, item, tz) for item in items]
    return raw


def defaults(form: FormDefinition) -> dict[str, Any]:
    """The schema's default values."""
    return {name: prop["default"] for name, prop in form.properties.items() if "default" in prop}


def _as_text(prop: Mapping, value: Any, tz: tzinfo) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and prop.get("format") == "date-time":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(tz)
        return moment.strftime("%Y-%m-%dT%H:%M")
    return str(value)


def prepare_submission(form: FormDefinition, raw: Mapping[str, list[str]],
                       tz: tzinfo) -> dict[str, list[str]]:
    """Posted texts made ready for `forms.validate.coerce`: a browser's local date-time gets the time zone
    it was typed in, and a multi-line list field becomes one item per line."""
    prepared: dict[str, list[str]] = {}
    for name, values in raw.items():
        prop = form.properties.get(name)
        if prop is not None and prop.get("format") == "date-time":
            values = [_with_zone(v, tz) for v in values]
        elif prop is not None and _widget(prop, form.ui.get(name) or {}) == "lines":
            values = [line.strip() for v in values for line in v.splitlines() if line.strip()]
        prepared[name] = list(values)
    return prepared


def _with_zone(value: str, tz: tzinfo) -> str:
    if "\x00" in value:  # fromisoformat takes "…T16:45\x00" as 16:45: left as typed, coerce refuses the NUL
        return value
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value  # validation reports it beside the field, with the text kept as typed
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat()


# --- values → readable text ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ShownValue:
    name: str
    label: str
    text: str


def describe_values(form: FormDefinition | None, data: Mapping[str, Any], lang: str, words: Words,
                    tz: tzinfo) -> list[ShownValue]:
    """Entered data as (label, readable text) in the form's order; fields the form does not name follow."""
    properties = form.properties if form is not None else {}
    order = [n for n in (form.field_names() if form is not None else []) if n in data]
    order += [n for n in data if n not in order]
    return [ShownValue(name=n, label=text(properties.get(n, {}), "title", lang, n),
                       text=value_text(properties.get(n, {}), data[n], lang, words, tz))
            for n in order if data[n] not in (None, "", [])]


def value_text(prop: Mapping, value: Any, lang: str, words: Words, tz: tzinfo) -> str:
    """One value as a person reads it: enum labels, yes / no, local times."""
    if isinstance(value, list):
        return ", ".join(value_text(_item_schema(prop), item, lang, words, tz) for item in value)
    if isinstance(value, bool):
        return words.yes if value else words.no
    labels = enum_labels(prop, lang)
    if str(value) in labels:
        return labels[str(value)]
    if isinstance(value, str) and prop.get("format") == "date-time":
        return _as_text(prop, value, tz).replace("T", " ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


# --- instructions ------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")


def render_instructions(source: str, variables: Mapping[str, Any], show: Callable[[str, Any], str]) -> Markup:
    """A model's instructions as safe HTML: `{{ name }}` replaced by `show(name, value)`, then paragraphs,
    line breaks, `-` / `1.` lists and `**bold**`. Everything is escaped: no HTML from the model or the data
    gets through."""
    values: list[str] = []

    def hold(match: re.Match) -> str:
        name = match.group(1)
        values.append(show(name, variables[name]) if name in variables else "—")
        return f"\x00{len(values) - 1}\x00"

    templated = _VARIABLE.sub(hold, (source or "").replace("\x00", ""))

    def inline(line: str) -> str:
        html = _BOLD.sub(r"<strong>\1</strong>", str(escape(line)))
        return _PLACEHOLDER.sub(lambda m: str(escape(values[int(m.group(1))])).replace("\n", "<br>"), html)

    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush_paragraph() -> None:
        if paragraph:
            blocks.append("<p>" + "<br>".join(inline(line) for line in paragraph) + "</p>")
            paragraph.clear()

    def flush_list() -> None:
        if items:
            entries = "".join(f"<li>{inline(i)}</li>" for i in items)
            blocks.append(f"<{list_tag}>{entries}</{list_tag}>")
            items.clear()

    for line in templated.splitlines():
        bullet = _BULLET.match(line)
        listed = bullet or _NUMBERED.match(line)
        if not line.strip():
            flush_paragraph()
            flush_list()
        elif listed:
            flush_paragraph()
            tag = "ul" if bullet else "ol"
            if items and tag != list_tag:
                flush_list()
            list_tag = tag
            items.append(listed.group(1))
        else:
            flush_list()
            paragraph.append(line.strip())
    flush_paragraph()
    flush_list()
    return Markup("".join(blocks))  # noqa: S704 - built only from escaped text and our own tags



def merged(forms: list[FormDefinition]) -> FormDefinition:
    """One form holding every field of `forms` in their order (the first form naming a field wins),
    for showing a complaint's collected data with the labels its forms give."""
    properties: dict[str, dict] = {}
    for form in forms:
        for name in form.field_names():
            properties.setdefault(name, form.properties[name])
    return FormDefinition(schema={"type": "object", "properties": properties},
                          ui={"ui:order": list(properties)})
