"""forms.render without a web app: field descriptions, values both ways, safe instructions."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from forms.render import (
    Words,
    describe_form,
    describe_values,
    prepare_submission,
    raw_values,
    render_instructions,
    task_title,
)
from forms.schema import FormDefinition

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORDS = Words(yes="是", no="否")
FORM = FormDefinition(
    schema={"type": "object", "required": ["kind", "ok"], "properties": {
        "kind": {"type": "string", "title": "类型", "x-title-en": "Kind", "enum": ["a", "b"],
                 "x-enum-titles": ["甲", "乙"], "x-enum-titles-en": ["A", "B"]},
        "ok": {"type": "boolean", "title": "可以", "x-title-en": "OK"},
        "tick": {"type": "boolean", "title": "勾选"},
        "tags": {"type": "array", "title": "标签", "items": {"type": "string", "enum": ["x", "y"],
                                                           "x-enum-titles": ["叉", "歪"]}},
        "amount": {"type": "integer", "title": "金额", "minimum": 0, "maximum": 9},
        "when": {"type": "string", "format": "date-time", "title": "时间"},
        "day": {"type": "string", "format": "date", "title": "日期"},
        "note": {"type": "string", "maxLength": 20, "title": "说明", "description": "写清楚",
                 "x-description-en": "Be clear"},
        "files": {"type": "array", "items": {"type": "string"}, "title": "文件"},
        "lines": {"type": "array", "items": {"type": "string"}, "title": "多行"},
    }},
    ui={"ui:order": ["ok", "*"], "kind": {"ui:widget": "radio"}, "tick": {"ui:widget": "checkbox"},
        "note": {"ui:widget": "textarea", "ui:help": "帮助", "ui:help-en": "Help"},
        "files": {"ui:widget": "file"}},
)


def test_fields_follow_the_schema_and_ui_schema():
    fields = describe_form(FORM, "zh", {"kind": ["b"], "tags": ["x", "y"], "note": ["<b>"]},
                           {"kind": ["必填"]}, WORDS)
    by_name = {f.name: f for f in fields}
    assert [f.name for f in fields][:2] == ["ok", "kind"]
    assert {n: f.widget for n, f in by_name.items()} == {
        "ok": "yesno", "kind": "radio", "tick": "checkbox", "tags": "checkboxes", "amount": "number",
        "when": "datetime", "day": "date", "note": "textarea", "files": "file", "lines": "lines"}
    assert [(o.label, o.selected) for o in by_name["kind"].options] == [("甲", False), ("乙", True)]
    assert [(o.value, o.label) for o in by_name["ok"].options] == [("true", "是"), ("false", "否")]
    assert [o.selected for o in by_name["tags"].options] == [True, True]
    assert by_name["kind"].errors == ["必填"] and by_name["kind"].required and not by_name["note"].required
    assert by_name["amount"].attrs == {"min": 0, "max": 9, "step": "1"}
    note = by_name["note"]
    assert (note.value, note.help, note.description) == ("<b>", "帮助", "写清楚")
    english = {f.name: f for f in describe_form(FORM, "en", {}, {}, WORDS)}
    assert english["kind"].label == "Kind" and english["kind"].options[0].label == "A"
    assert english["note"].help == "Help" and english["note"].description == "Be clear"
    assert english["tick"].label == "勾选"  # no English title in the model: its own title


def test_values_both_ways():
    raw = raw_values(FORM, {"ok": True, "amount": 3, "tags": ["x"], "when": "2026-11-23T01:30:00+00:00",
                            "unknown": 1, "note": None}, SHANGHAI)
    assert raw == {"ok": ["true"], "amount": ["3"], "tags": ["x"], "when": ["2026-11-23T09:30"]}
    prepared = prepare_submission(FORM, {"when": ["2026-11-23T09:30"], "lines": ["a\n\n b \n"],
                                         "day": ["2026-11-23"], "kind": ["a"]}, SHANGHAI)
    assert prepared == {"when": ["2026-11-23T09:30:00+08:00"], "lines": ["a", "b"], "day": ["2026-11-23"],
                        "kind": ["a"]}
    assert prepare_submission(FORM, {"when": ["soon"]}, SHANGHAI) == {"when": ["soon"]}
    shown = describe_values(FORM, {"note": "好", "ok": False, "kind": "b", "tags": ["x", "y"], "extra": 1.0,
                                   "when": "2026-11-23T01:30:00+00:00", "tick": None}, "zh", WORDS, SHANGHAI)
    assert [(v.label, v.text) for v in shown] == [
        ("可以", "否"), ("类型", "乙"), ("标签", "叉, 歪"), ("时间", "2026-11-23 09:30"), ("说明", "好"),
        ("extra", "1")]


def test_instructions_are_escaped_and_formatted():
    source = ("**顾客**：{{ name }}\n第二行 <script>\n\n- 一\n- **二**\n1. 甲\n2. 乙\n\n"
              "{{ missing }} {{ dept }}")
    html = render_instructions(source, {"name": "<b>张</b>\n李", "dept": "logistics"},
                               lambda name, value: "储运部" if name == "dept" else str(value))
    assert html == ("<p><strong>顾客</strong>：&lt;b&gt;张&lt;/b&gt;<br>李<br>第二行 &lt;script&gt;</p>"
                    "<ul><li>一</li><li><strong>二</strong></li></ul><ol><li>甲</li><li>乙</li></ol>"
                    "<p>— 储运部</p>")
    assert render_instructions("", {}, str) == ""


def test_task_titles_in_one_language():
    assert task_title("判断投诉是否成立 Judge validity", "Judge validity", "zh") == "判断投诉是否成立"
    assert task_title("判断投诉是否成立 Judge validity", "Judge validity", "en") == "Judge validity"
    assert task_title("回访", None, "en") == "回访"
    assert task_title("Judge validity", "Judge validity", "zh") == "Judge validity"
    # A bilingual name without `title_en` (end events): the Chinese, or the English after it.
    assert task_title("投诉、建议还是咨询? Complaint, suggestion or enquiry?", None, "zh") == "投诉、建议还是咨询?"
    assert task_title("骚扰/恶意投诉，留证结案 Closed as harassment / malicious", None, "en") == \
        "Closed as harassment / malicious"
    assert task_title("判断 A2 级", None, "en") == "判断 A2 级"
    # Right after full-width punctuation the English needs no space; after a Chinese character it does.
    assert task_title("时限（自受理）First response limit (from receipt)", None, "zh") == "时限（自受理）"
    assert task_title("首次响应时限（自受理）First response limit", None, "en") == "First response limit"
    assert task_title("处理A2", None, "zh") == "处理A2"
    # The start event's `title_en` names the intake form, not the event: its Chinese half is still shown.
    assert task_title("投诉登记 Complaint recorded", "Record a complaint", "zh") == "投诉登记"
    assert task_title("投诉登记 Complaint recorded", "Record a complaint", "en") == "Record a complaint"
