"""Deploying models: bad and hostile models are refused with file, element and line; versions by hash."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.complaints import tasks
from engine.config import PROJECT_ROOT
from engine.db import UnitOfWork
from engine.errors import InvalidInput
from engine.errors import ModelCode as M
from engine.models import Complaint, ProcessVersion
from engine.workflow.deploy import deploy_bundle, read_bundle, validate_bundle
from engine.workflow.model_xml import MAX_MODEL_FILE_BYTES, ModelInvalid
from tests.lifecycle import open_task, start, step

BPMN = "complaint_lifecycle.bpmn"


@pytest.fixture(scope="module")
def bundle():
    return read_bundle(PROJECT_ROOT / "workflows")


def broken(bundle, path, old, new):
    assert old in bundle[path], old
    return dict(bundle, **{path: bundle[path].replace(old, new, 1)})


def problems(files):
    with pytest.raises(ModelInvalid) as info:
        validate_bundle(files)
    return info.value.problems


def line_of(text, needle):
    return text[: text.index(needle)].count("\n") + 1


def test_the_shipped_model_is_valid(bundle):
    validated = validate_bundle(bundle)
    assert validated.process_id == "complaint_lifecycle"
    assert len(validated.content_hash) == 64


def matching(found, code, params):
    """The first problem of `code` whose params include `params`."""
    return next((p for p in found if p.code == code and params.items() <= p.params.items()), None)


@pytest.mark.parametrize("old, new, element, code, params", [
    (">valid == True<", ">valid == = True<", "flow_valid", M.EXPRESSION_SYNTAX,
     {"what": "condition", "line": 1, "column": 10}),
    (">valid == True<", ">=valid = true<", "flow_valid", M.EXPRESSION_FEEL, {"what": "condition"}),
    (">valid == True<", ">__import__('os').system('id')<", "flow_valid", M.EXPRESSION_REFUSED,
     {"what": "condition"}),
    (">round = round + 1\n", ">import os\n", "next_round", M.EXPRESSION_REFUSED, {"what": "script"}),
    ('attachedToRef="judge_validity"', 'attachedToRef="nowhere"', "judge_validity_warning",
     M.BOUNDARY_ACTIVITY_MISSING, {"activity": "nowhere"}),
    ('targetRef="hand_over"', 'targetRef="missing_node"', None, M.FLOW_END_MISSING, {"target": "missing_node"}),
    ("<spiffworkflow:calledDecisionId>routing<", "<spiffworkflow:calledDecisionId>nowhere<",
     "route_department", M.DECISION_NOT_IN_BUNDLE, {"decision": "nowhere"}),
    ('value="forms/hand_over.schema.json"', 'value="forms/missing.schema.json"', "hand_over",
     M.FORM_FILE_MISSING, {"form": "forms/missing.schema.json"}),
    ('value="forms/hand_over.schema.json"', 'value="../../etc/passwd.schema.json"', "hand_over",
     M.FORM_FILE_MISSING, {}),
    ('<bpmn:lane id="lane_cs_manager" name="cs_manager">', '<bpmn:lane id="lane_cs_manager" name="janitor">',
     "cs_sign_off", M.LANE_NOT_A_ROLE, {"lane": "janitor"}),
    ("warning(received_at, sla_first_response, warning_ratio, basis_first_response)", "sla_first_response +",
     "judge_validity_warning", M.EXPRESSION_SYNTAX, {"line": 1}),  # the timer's expression
])
def test_bad_models_are_refused_with_element_and_line(bundle, old, new, element, code, params):
    files = broken(bundle, BPMN, old, new)
    found = problems(files)
    problem = matching(found, code, params)
    assert problem, found
    assert problem.file == BPMN and problem.line
    if element:
        assert problem.element_id == element, found
        start = line_of(files[BPMN], f'id="{element}"')
        assert start <= problem.line <= start + 12, (problem, start)


def test_user_task_outside_any_lane_is_refused(bundle):
    found = problems(broken(bundle, BPMN, "<bpmn:flowNodeRef>follow_up</bpmn:flowNodeRef>", ""))
    assert [(p.element_id, p.code) for p in found] == [("follow_up", M.NOT_IN_A_LANE)]


def test_schema_violation_is_reported_with_the_line(bundle):
    files = broken(bundle, BPMN, '<bpmn:userTask id="hand_over"', '<bpmn:userTask bogus="1" id="hand_over"')
    found = problems(files)
    assert found[0].file == BPMN and found[0].line == line_of(files[BPMN], 'bogus="1"')
    assert found[0].element_id == "hand_over"


def test_dmn_expressions_are_checked(bundle):
    path = "routing.dmn"
    text = bundle[path]
    start = text.index("<outputEntry") if "<outputEntry" in text else text.index("outputEntry")
    text_start = text.index("<text>", start) + len("<text>")
    text_end = text.index("</text>", text_start)
    files = dict(bundle, **{path: text[:text_start] + "__import__('os')" + text[text_end:]})
    found = problems(files)
    assert found[0].file == path and found[0].params["what"] == "dmn_output_entry"


XXE = """<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&xxe;</bpmn:definitions>"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol3;</bpmn:definitions>"""


@pytest.mark.parametrize("content, code", [
    (XXE, M.DOCTYPE_NOT_ALLOWED),
    (LAUGHS, M.DOCTYPE_NOT_ALLOWED),
    ("this is not xml", M.NOT_XML),
    ("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><unclosed>", M.XML_NOT_CLOSED),
    ("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><a x='1'</bpmn:definitions>",
     M.XML_TAG_NOT_FINISHED),
    ("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL' xmlns:p=''/>", M.MALFORMED_XML),
    ("<x>" + " " * (MAX_MODEL_FILE_BYTES + 1) + "</x>", M.FILE_OVER_LIMIT),
])
def test_hostile_files_are_refused(bundle, content, code):
    found = problems(dict(bundle, **{BPMN: content}))
    assert any(p.code == code for p in found), found
    assert "root:" not in str(found)


def test_a_complaint_stays_on_the_version_it_started_with(system, bundle):
    first = start(system).complaint_id
    changed = broken(bundle, "forms/hand_over.schema.json", '"work_order_note"', '"handover_note"')
    changed = dict(changed, **{"forms/hand_over.uischema.json": changed["forms/hand_over.uischema.json"]
                               .replace('"work_order_note"', '"handover_note"')})
    changed["forms/hand_over.schema.json"] = changed["forms/hand_over.schema.json"].replace(
        '"work_order_note"', '"handover_note"')
    with UnitOfWork(system.db) as uow:
        version, created = deploy_bundle(uow.session, validate_bundle(changed), "owner")
        uow.commit()
    assert created
    second = start(system).complaint_id
    with UnitOfWork(system.db, write=False) as uow:
        versions = {c.id: c.version_id for c in uow.session.scalars(select(Complaint))}
        current = uow.session.scalars(select(ProcessVersion).where(ProcessVersion.is_current.is_(True))).one()
    assert versions[first] != versions[second] == current.id == version.id
    step(system, first, "judge_validity")
    step(system, first, "hand_over")  # the old form still asks for work_order_note
    step(system, second, "judge_validity")
    with pytest.raises(InvalidInput) as info:
        step(system, second, "hand_over")  # the new form has no work_order_note
    assert set(info.value.errors) == {"work_order_note", "handover_note"}
    with UnitOfWork(system.db) as uow:
        tasks.complete_task(uow, system.actor("agent1"), open_task(system, second).id,
                               {"department": "logistics", "handover_note": "新表单"})
    assert open_task(system, second).name == "analyse_and_propose"


def test_redeploying_the_same_content_reuses_the_version(system, bundle):
    with UnitOfWork(system.db) as uow:
        version, created = deploy_bundle(uow.session, validate_bundle(bundle), "owner")
        uow.commit()
    assert not created and version.is_current


JUDGE = 'name="判断投诉是否成立 Judge validity"'
#: The XML mistakes people make editing a model by hand: (what is replaced, by what, the code, its params).
SYNTAX_ERRORS = [
    (">valid == True<", ">valid == True and level < 3<", M.XML_UNESCAPED, {"char": "<"}),
    (">valid == True<", ">valid == True & True<", M.XML_UNESCAPED, {"char": "&"}),
    (f"{JUDGE}>", f"{JUDGE} x=1>", M.XML_ATTRIBUTE_NOT_QUOTED, {}),
    (f"{JUDGE}>", f"{JUDGE}>&nbsp;", M.XML_UNDEFINED_ENTITY, {"entity": "nbsp"}),
    (f"{JUDGE}>", f"{JUDGE}><camunda:x/>", M.XML_UNDEFINED_PREFIX, {"prefix": "camunda", "tag": "x"}),
    (f"{JUDGE}>", f'{JUDGE} name="x">', M.XML_DUPLICATE_ATTRIBUTE, {"attribute": "name"}),
    ("</bpmn:definitions>", "</bpmn:definitions>\n<bpmn:definitions/>", M.XML_EXTRA_CONTENT, {}),
]


@pytest.mark.parametrize("old, new, code, params", SYNTAX_ERRORS, ids=[c[2].value + str(i) for i, c in
                                                                        enumerate(SYNTAX_ERRORS)])
def test_common_xml_mistakes_are_codes_worded_in_chinese(bundle, old, new, code, params):
    """libxml2's English stays out of the Chinese page for the common mistakes: each is a code with its params,
    at the line of the mistake."""
    from web import messages

    files = broken(bundle, BPMN, old, new)
    [problem] = problems(files)
    assert problem.code == code and params.items() <= problem.params.items()
    assert problem.params["line"] == problem.line and problem.params["detail"]  # libxml2's words, kept apart
    assert problem.line == line_of(files[BPMN], new) + new.count("\n")  # the line the mistake is on
    chinese = messages.problem_texts(problem.as_dict(), messages.in_locale("zh"))
    assert chinese["hint"] and not any(word in chinese["message"] + chinese["hint"]
                                       for word in ("expected", "line", "not", "the", "is"))


def test_a_cut_off_file_and_crossed_tags_name_the_element_and_where_it_opened(bundle):
    text = bundle[BPMN]
    cut = text[:text.index("</bpmn:process>")]
    [problem] = problems(dict(bundle, **{BPMN: cut}))
    assert problem.code == M.XML_NOT_CLOSED and problem.params["tag"] == "process"  # libxml2 names it locally
    assert problem.params["open_line"] == str(line_of(text, "<bpmn:process "))
    crossed = text.replace("</bpmn:script>", "</bpmn:scriptTask>", 1)
    [problem] = problems(dict(bundle, **{BPMN: crossed}))
    assert problem.code == M.XML_TAG_MISMATCH and (problem.params["open"], problem.params["close"]) == (
        "script", "scriptTask")
    assert problem.line == line_of(crossed, "</bpmn:scriptTask>")
