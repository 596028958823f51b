"""A task's form definition: its JSON Schema and its optional UI schema."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from jsonschema.protocols import Validator


@dataclass(frozen=True)
class FormDefinition:
    """The schema (JSON Schema, type object) and UI schema (react-jsonschema-form style keys)."""

    schema: dict
    ui: dict = field(default_factory=dict)

    @property
    def properties(self) -> dict[str, dict]:
        return self.schema.get("properties", {})

    @property
    def required(self) -> list[str]:
        return list(self.schema.get("required", []))

    def field_names(self) -> list[str]:
        """Field names in display order: `ui:order` first (with `*` for the rest), then schema order."""
        names = list(self.properties)
        order = self.ui.get("ui:order")
        if not order:
            return names
        listed = [n for n in order if n in self.properties]
        rest = [n for n in names if n not in listed]
        if "*" in order:
            star = order.index("*")
            head = [n for n in order[:star] if n in self.properties]
            tail = [n for n in order[star + 1:] if n in self.properties]
            return head + rest + tail
        return listed + rest

    @cached_property
    def validator(self) -> Validator:
        """The schema's validator, built once per form (forms are shared and never change)."""
        from forms.validate import FORMAT_CHECKER, FormValidator

        return FormValidator(self.schema, format_checker=FORMAT_CHECKER)

    def widget(self, name: str) -> str | None:
        return (self.ui.get(name) or {}).get("ui:widget")


def generic_form(variables: list[str]) -> FormDefinition:
    """The form of a user task that names none: a free-text note, plus a field for each variable
    its outgoing conditions read (their type is unknown, so they are entered as text or yes/no)."""
    properties: dict[str, dict] = {
        "note": {"type": "string", "maxLength": 4000, "title": "说明", "x-title-en": "Note"},
    }
    for name in variables:
        properties[name] = {"type": ["boolean", "string", "number"], "title": name, "x-title-en": name}
    return FormDefinition(
        schema={"type": "object", "properties": properties, "additionalProperties": False},
        ui={"note": {"ui:widget": "textarea"}},
    )
