"""A model that fails while it runs is reported as a reason code with params, never as a library's English
(docs/MODELLING.md, "When a model fails while it runs"; docs/ARCHITECTURE.md, "Errors"): each kind of failure of
model code, of the engine and of the step budget has its code, crosses the sandbox's worker processes with its
params, and reads as Chinese words on a Chinese page and in a Chinese API answer. The library's own words stay
as the technical `detail` param."""
from __future__ import annotations

import json
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.db import UnitOfWork
from engine.errors import Code, ModelCode
from engine.modelling.cases import read_cases
from engine.workflow import runtime
from engine.workflow.deploy import validate_bundle
from engine.workflow.failures import StepFailed, explain
from engine.workflow.model_forms import load_forms
from engine.workflow.model_xml import ModelInvalid
from tests.api.conftest import api, problem, token  # noqa: F401
from tests.lifecycle import INTAKE
from tests.modelling.hostile_models import LOOP, store_past_the_checks
from tests.modelling.test_pages import DRAFT
from tests.modelling.variants import with_legal_review
from tests.web.conftest import compile_catalogues, text_of
from tests.web.test_error_codes import ENGLISH
from web import messages

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">'
        '<bpmn:process id="complaint_lifecycle" isExecutable="true">'
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>')
TAIL = ('<bpmn:userTask id="wait"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
        '</bpmn:userTask><bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f2" sourceRef="broken" targetRef="wait" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end" /></bpmn:process></bpmn:definitions>')


def script_model(script: str) -> str:
    """Start → the script task `broken` → a user task: starting it runs the script."""
    return (HEAD + '<bpmn:scriptTask id="broken" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>'
            f'<bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="broken" />' + TAIL)


def gateway_model(condition: str) -> str:
    """Start → the exclusive gateway `broken` with one conditional flow and no default → a user task."""
    return (HEAD + '<bpmn:exclusiveGateway id="broken"><bpmn:incoming>f1</bpmn:incoming>'
            '<bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="broken" />' + TAIL.replace(
                'targetRef="wait" />', f'targetRef="wait"><bpmn:conditionExpression>{escape(condition)}'
                                       '</bpmn:conditionExpression></bpmn:sequenceFlow>', 1))


def failure_of(model: str) -> StepFailed:
    """Start `model` on the server's script engine (model code in the sandbox's worker processes)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(model.encode(), filename="complaint_lifecycle.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("complaint_lifecycle"),
                            parser.get_subprocess_specs("complaint_lifecycle"), script_engine=runtime.script_engine())
    with pytest.raises(StepFailed) as failed:
        runtime.advance(workflow)
    return failed.value


#: (model, element, reason, params the failure must carry)
CASES = [
    (script_model("x = missing_amount"), "broken", Code.RUN_UNDEFINED_NAME, {"name": "missing_amount", "line": 1}),
    (script_model("x = 1\ny = {}['refund']"), "broken", Code.RUN_MISSING_KEY, {"key": "refund", "line": 2}),
    (script_model("x = 1 // 0"), "broken", Code.RUN_DIVISION_BY_ZERO, {"line": 1}),
    (script_model("x = 'a' + 1"), "broken", Code.RUN_WRONG_TYPE, {"kind": "TypeError", "line": 1}),
    (script_model("x = int('a')"), "broken", Code.RUN_BAD_VALUE, {"kind": "ValueError", "line": 1}),
    (script_model("x = [][2]"), "broken", Code.RUN_INDEX_OUT_OF_RANGE, {"line": 1}),
    (script_model("x = 1\ny = ("), "broken", Code.RUN_SYNTAX, {"line": 2}),
    (script_model("import os"), "broken", Code.RUN_NOT_ALLOWED, {"construct": "import", "line": 1}),
    (script_model("x = 1\ny = vars()"), "broken", Code.RUN_NOT_ALLOWED,
     {"construct": "call", "name": "vars", "line": 2}),
    (script_model("x = eval('1')"), "broken", Code.RUN_NOT_ALLOWED, {"line": 1}),  # RestrictedPython's own
    (gateway_model("amount.real > 1"), "broken", Code.RUN_NOT_ALLOWED,
     {"construct": "attribute", "name": "real", "expression": "amount.real > 1"}),
    (script_model("x = float('nan')"), "broken", Code.RUN_DATA_NOT_STORABLE, {"variable": "x"}),
    (script_model("while True:\n    y = 1"), "broken", Code.RUN_LIMIT, {"limit": "lines"}),
    (script_model("x = duration_fraction('P1M', 0.5)"), "broken", Code.RUN_DURATION_NOT_FIXED,
     {"duration": "P1M", "line": 1}),
    (script_model("x = duration_fraction('PT1H', 2)"), "broken", Code.RUN_RATIO_RANGE, {"ratio": 2}),
    (script_model("x = deadline('2026-12-01T09:00:00+08:00', 'PT1H', 'weekly')"), "broken",
     Code.RUN_UNKNOWN_BASIS, {"basis": "weekly", "bases": "clock / working / daytime"}),
    (gateway_model("amount > 100"), "broken", Code.RUN_UNDEFINED_NAME,
     {"name": "amount", "expression": "amount > 100"}),
    (gateway_model("refund_of(1) > 0"), "broken", Code.RUN_UNDEFINED_FUNCTION, {"function": "refund_of"}),
    (gateway_model("1 == 2"), "broken", Code.RUN_NO_PATH, {}),
    (LOOP, "spin", Code.RUN_LOOPED, {"max_steps": runtime.MAX_ENGINE_STEPS}),
]


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    compile_catalogues()
    messages.catalogue.cache_clear()


@pytest.mark.parametrize(("model", "element", "reason", "params"), CASES, ids=[str(c[2]) for c in CASES])
def test_each_kind_of_failure_is_a_code_with_params_worded_in_chinese(model, element, reason, params):
    failed = failure_of(model)
    [failure] = failed.errors["model"]
    assert (failed.element, failure.code, failure.params["reason"]) == (element, Code.STEP_FAILED_AT, reason)
    assert failure.params.items() >= params.items(), failure.params
    assert failed.detail and failure.params["detail"] == failed.detail  # the library's words, kept as technical
    assert failed.looped == (reason == Code.RUN_LOOPED)
    chinese = messages.render(failure.code, failure.params, messages.in_locale("zh"))
    english = messages.render(failure.code, failure.params, messages.in_locale("en"))
    assert chinese.startswith(f"流程模型在元素 {element} 处运行出错：") and not ENGLISH.search(chinese), chinese
    assert failed.detail not in chinese and "?" not in english, english
    for name, value in params.items():  # the names the sentence says (a kind or a construct is worded instead)
        if isinstance(value, str) and name not in ("limit", "kind", "construct"):
            assert value in chinese, (value, chinese)


def test_a_limit_is_named_in_chinese():
    failed = failure_of(script_model("while True:\n    y = 1"))
    chinese = messages.render(Code.STEP_FAILED_AT, failed.errors["model"][0].params, messages.in_locale("zh"))
    assert "执行行数上限" in chinese and chinese.endswith("已被中止。出错位置：脚本第 1 行。"), chinese


def test_an_unknown_exception_is_named_by_its_type():
    assert explain(RuntimeError("boom")).reason == Code.RUN_ENGINE_ERROR
    assert explain(RuntimeError("boom")).params == {"kind": "RuntimeError"}
    cause = explain(WorkflowException("Split at x was not reached"))
    assert (cause.reason, cause.params, cause.detail) == (Code.RUN_ENGINE_ERROR, {"kind": "WorkflowException"},
                                                          "Split at x was not reached.")
    worded = messages.render(Code.STEP_FAILED, {"reason": cause.reason, **cause.params, "detail": cause.detail},
                             messages.in_locale("zh"))
    assert worded == "流程模型运行出错：工作流引擎无法执行（错误类型 WorkflowException）。"


BROKEN = script_model("total = missing_amount + 1")


def _store_broken(system) -> None:
    with UnitOfWork(system.db) as uow:
        store_past_the_checks(uow.session, BROKEN, "broken")
        uow.commit()


def test_the_api_answers_a_failing_model_in_chinese_with_the_code_and_params(system, api):  # noqa: F811
    _store_broken(system)
    body = problem(api("agent1").post("/api/v1/complaints", json=INTAKE, headers={"Accept-Language": "zh"}), 422)
    [failure] = body["field_errors"]["model"]
    assert failure["code"] == Code.STEP_FAILED_AT
    assert {k: failure["params"][k] for k in ("element", "reason", "name", "line")} == {
        "element": "broken", "reason": Code.RUN_UNDEFINED_NAME, "name": "missing_amount", "line": 1}
    assert "NameError" in failure["params"]["detail"]  # the technical detail, for the process owner
    [worded] = body["errors"]["model"]
    assert worded == ("流程模型在元素 broken 处运行出错：名称 missing_amount 未定义（投诉的变量中没有它）。"
                      "出错位置：脚本第 1 行。")
    assert not ENGLISH.search(body["detail"] + worded), body


def test_the_intake_page_shows_a_failing_model_in_chinese(system, login):
    _store_broken(system)
    page = login("agent1", "zh").post("/complaints/new", data={})
    html = text_of(page)
    assert page.status_code == 422
    assert "流程模型在元素 broken 处运行出错：名称 missing_amount 未定义" in html, html
    assert "is not defined" not in html and "NameError" not in html and "The process model" not in html


#: (form schema, code, params): what the JSON Schema metaschema refuses, by the rule the schema breaks.
SCHEMAS = [
    ({"type": "object", "required": "name"}, ModelCode.FORM_SCHEMA_WRONG_TYPE,
     {"keyword": "required", "expected": "array"}, "required 的值必须是列表。"),
    ({"type": "object", "properties": {"name": {"maxLength": -1}}}, ModelCode.FORM_SCHEMA_BELOW_MINIMUM,
     {"keyword": "maxLength", "minimum": 0}, "maxLength 的值不能小于 0。"),
    ({"type": "object", "required": ["name", "name"]}, ModelCode.FORM_SCHEMA_REPEATED,
     {"keyword": "required"}, "列表 required 中有重复的条目。"),
    ({"type": "object", "properties": {"name": {"type": "strng"}}}, ModelCode.FORM_SCHEMA_UNKNOWN_VALUE,
     {"keyword": "type", "value": '"strng"'}, 'type 不接受值 "strng"。'),
    ({"type": "object", "properties": {"name": {"minLength": 1.5}}}, ModelCode.FORM_SCHEMA_WRONG_TYPE,
     {"keyword": "minLength", "expected": "integer"}, "minLength 的值必须是整数。"),
]


@pytest.mark.parametrize(("schema", "code", "params", "chinese"), SCHEMAS, ids=[s[1] + "-" + s[2]["keyword"]
                                                                              for s in SCHEMAS])
def test_an_invalid_form_schema_is_a_code_by_the_rule_it_breaks(schema, code, params, chinese):
    problems: list = []
    load_forms({"forms/intake.schema.json": json.dumps(schema)}, problems)
    [found] = problems
    assert (found.code, found.file) == (code, "forms/intake.schema.json")
    assert found.params.items() >= params.items() and found.params["detail"], found.params
    worded = messages.problem_texts(found.as_dict(), messages.in_locale("zh"))["message"]
    assert worded == chinese and not ENGLISH.search(worded)


def test_the_modeller_words_a_failing_test_case_in_chinese(login):
    """The modeller's test run (the process owner's page) says why a case failed in the page language, with the
    codes beside the words."""
    owner = login("owner", "zh")
    assert owner.post(f"{DRAFT}/open").status_code == 303
    files = with_legal_review()
    tests = json.loads(files["tests/lifecycle.json"])
    tests["cases"][-1]["expect"]["open"] = ["gm_review"]
    files["tests/lifecycle.json"] = json.dumps(tests)
    owner.post(f"{DRAFT}/files", json={"files": files})
    [failed] = [r for r in owner.post(f"{DRAFT}/test").json["results"] if not r["passed"]]
    assert failed["failures"] == ["待办任务：应为 ['gm_review']，实际为 ['hand_over']"]
    assert failed["failure_codes"] == [{"code": Code.CASE_OPEN,
                                        "params": {"expected": "['gm_review']", "found": "['hand_over']"}}]


@pytest.mark.parametrize(("files", "code", "params", "chinese"), [
    ({"tests/cases.json": '{"cases": [\n  {"name": "a",}]}'}, ModelCode.TEST_CASES_UNREADABLE,
     {"line": 2, "column": 16}, "测试用例不是有效的 JSON（第 2 行第 16 列）。"),
    ({"tests/cases.json": '{"case": []}'}, ModelCode.TEST_CASES_NO_LIST, {}, '测试文件必须是含有 "cases" 列表的对象。'),
], ids=["not-json", "no-list"])
def test_unreadable_test_cases_name_their_file_and_place_without_parsing_english(files, code, params, chinese):
    with pytest.raises(ModelInvalid) as refused:
        read_cases(files)
    [found] = refused.value.problems
    assert (found.file, found.code) == ("tests/cases.json", code) and found.params.items() >= params.items()
    assert messages.problem_texts(found.as_dict(), messages.in_locale("zh"))["message"] == chinese


def test_a_form_that_is_not_json_names_its_line_and_column():
    problems: list = []
    load_forms({"forms/intake.schema.json": '{"type": "object",\n "title": }'}, problems)
    [found] = problems
    assert (found.code, found.line, found.params["column"]) == (ModelCode.FORM_INVALID_JSON, 2, 11)
    worded = messages.problem_texts(found.as_dict(), messages.in_locale("zh"))["message"]
    assert worded == "表单不是有效的 JSON（第 2 行第 11 列）。"


def test_a_refusal_at_deploy_is_said_in_the_reader_language():
    """The sandbox's refusal of a condition at deploy: its construct worded, its own words kept as detail."""
    condition = '<bpmn:conditionExpression>eval("1") == 1</bpmn:conditionExpression>'
    model = gateway_model("1 == 1").replace("<bpmn:conditionExpression>1 == 1</bpmn:conditionExpression>", condition)
    with pytest.raises(ModelInvalid) as refused:
        validate_bundle({"complaint_lifecycle.bpmn": model})
    found = next(p for p in refused.value.problems if p.code == ModelCode.EXPRESSION_REFUSED)
    assert found.params.items() >= {"construct": "call", "name": "eval", "what": "condition"}.items()
    assert "eval" in found.params["detail"]
    zh = messages.problem_texts(found.as_dict(), messages.in_locale("zh"))["message"]
    en = messages.problem_texts(found.as_dict(), messages.in_locale("en"))["message"]
    assert zh.endswith("不允许调用 eval()。") and not ENGLISH.search(zh), zh
    assert en == "The condition is not accepted: calling eval() is not allowed.", en


def test_a_form_pattern_re2_cannot_run_is_said_in_the_reader_language():
    problems: list = []
    schema = {"type": "object", "properties": {"phone": {"type": "string", "pattern": r"^(?=.*\d)[0-9 ]+$"}}}
    load_forms({"forms/intake.schema.json": json.dumps(schema)}, problems)
    [found] = problems
    assert (found.code, found.element_id) == (ModelCode.FORM_PATTERN_UNSUPPORTED, "properties/phone/pattern")
    assert found.params["pattern"] == r"^(?=.*\d)[0-9 ]+$" and "look-around" in found.params["detail"]
    zh = messages.problem_texts(found.as_dict(), messages.in_locale("zh"))["message"]
    assert zh == (r"模式 ^(?=.*\d)[0-9 ]+$ 无法使用："
                  "表单的模式由 RE2 执行，不支持反向引用和前后断言，重复次数最多 1000。")
