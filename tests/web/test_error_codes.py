"""Errors cross the layers as codes with params and are worded only by the catalogues (`web/messages.py`):
every code has a Chinese and an English sentence, every raising site gives the params its sentence needs,
and pages, the API and the CLI word the same code in their reader's language."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine.db import UnitOfWork
from engine.errors import Code, InvalidInput, ModelCode, NotFound
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from forms.errors import FieldError, FormCode
from forms.schema import FormDefinition
from forms.validate import coerce, raw_errors, text_errors, validate
from tests.api.conftest import problem
from tests.lifecycle import start, step
from tests.modelling.test_migration import deploy
from tests.modelling.variants import with_lane
from tests.web.conftest import compile_catalogues, text_of
from web import messages
from web.model_messages import HINTS

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
#: Three English words in a row: a sentence the Chinese catalogue left untranslated.
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,;:'-]+[A-Za-z]{2,}){2,}")
#: Sample values of the params (no English in them, so that any English in a rendering is the catalogue's).
SAMPLES = {"role": "department_head", "department": "logistics", "status": "completed", "options": "zh, en",
           "file": "照片.jpg", "path": "forms/表单.json", "problem": "第 3 行", "detail": "除以零", "key": "typename",
           "rule": "const", "format": "email", "process": "投诉流程", "element": "gm_review", "user": "张三",
           "reason": "run_division_by_zero", "limit": "time", "kind": "TypeError", "expression": "金额 / 0"}
CODES = [*FormCode, *Code]


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    compile_catalogues()
    messages.catalogue.cache_clear()


def _params(code) -> dict:
    return {name: SAMPLES.get(name, 7) for name in PLACEHOLDER.findall(messages.TEXTS[code])}


@pytest.mark.parametrize("code", CODES, ids=str)
def test_every_code_has_a_chinese_sentence(code):
    assert code in messages.TEXTS, f"add a sentence for {code!r} to web/messages.py TEXTS"
    zh_catalogue = messages.catalogue("zh")
    assert zh_catalogue._catalog.get(messages.TEXTS[code]), f"no Chinese for {messages.TEXTS[code]!r}"
    chinese = messages.render(code, _params(code), messages.in_locale("zh"))
    english = messages.render(code, _params(code), messages.in_locale("en"))
    assert chinese != english and not ENGLISH.search(chinese), chinese
    assert "?" not in english and "%(" not in english, english


def test_codes_in_params_are_named_in_the_reader_language(app):
    with app.test_request_context():  # a department is named by the departments table (a request reads it)
        zh = messages.render(Code.TASK_FOR_DEPARTMENT, {"role": "department_head", "department": "logistics"},
                             messages.in_locale("zh"))
        en = messages.render(Code.TASK_FOR_DEPARTMENT, {"role": "department_head", "department": "logistics"},
                             messages.in_locale("en"))
    assert zh == "此任务由储运部的“部门经理”处理。"
    assert en == "This task is for the role Department head of the department Logistics."
    en = messages.render(Code.TASK_ALREADY, {"status": "completed"}, messages.in_locale("en"))
    assert en == "This task was already completed."
    size = messages.render(Code.FILE_TOO_LARGE, {"file": "a.mp4", "max": 20 * 1024 * 1024}, messages.in_locale("zh"))
    assert size == "a.mp4：文件超过 20 MB。"


def _raising_sites():
    """(file, line, code, param names) of every call that passes a `Code.X` / `FormCode.X` and its params, as
    keywords or as a dict written after the code (`SandboxError(message, Code.RUN_SYNTAX, {"line": …})`)."""
    for folder in ("engine", "forms", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call) or any(k.arg is None for k in node.keywords):
                    continue
                for index, arg in enumerate(node.args):
                    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) \
                            and arg.value.id in ("Code", "FormCode"):
                        code = {"Code": Code, "FormCode": FormCode}[arg.value.id][arg.attr]
                        rest = node.args[index + 1:]
                        if rest and not isinstance(rest[0], ast.Dict):
                            continue  # params built elsewhere
                        given = {k.value for k in rest[0].keys if isinstance(k, ast.Constant)} if rest else set()
                        yield (f"{path.relative_to(ROOT)}:{node.lineno}", code,
                               given | {k.arg for k in node.keywords})


@pytest.mark.parametrize("code", list(ModelCode), ids=str)
def test_every_model_problem_is_worded_in_chinese_with_its_hint(code):
    texts = [messages.TEXTS[code], *([HINTS[code]] if code in HINTS else [])]
    for text in texts:
        assert messages.catalogue("zh")._catalog.get(text), f"no Chinese for {text!r}"
    params = {name: SAMPLES.get(name, 7) for text in texts for name in PLACEHOLDER.findall(text)}
    problem = {"file": "流程.bpmn", "line": 12, "element_id": "审批", "code": str(code), "params": params}
    chinese = messages.problem_texts(problem, messages.in_locale("zh"))
    english = messages.problem_texts(problem, messages.in_locale("en"))
    assert chinese["message"] != english["message"] and not ENGLISH.search(chinese["message"]), chinese
    assert (chinese["hint"] is None) == (english["hint"] is None) == (code not in HINTS)
    assert not ENGLISH.search(chinese["hint"] or ""), chinese["hint"]
    assert "%(" not in english["message"] + (english["hint"] or "")
    assert messages.problem_line(problem, messages.in_locale("zh")).startswith("流程.bpmn:12 [审批]: ")


def _model_problem_sites():
    """(file, line, code, param names) of every `ModelProblem(..., ModelCode.X, {params})` and
    `error(ModelCode.X, **params)` whose params are written out there."""
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("ModelProblem", "error")):
                continue
            for index, arg in enumerate(node.args):
                if not (isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name)
                        and arg.value.id == "ModelCode"):
                    continue
                rest = node.args[index + 1:]
                if rest and not isinstance(rest[0], ast.Dict):
                    continue  # params built elsewhere
                given = {k.value for k in rest[0].keys if k is not None} if rest else {k.arg for k in node.keywords}
                yield f"{path.relative_to(ROOT)}:{node.lineno}", ModelCode[arg.attr], given


def test_every_model_problem_gives_the_params_of_its_sentence_and_hint():
    sites = list(_model_problem_sites())
    assert len(sites) > 50
    wrong = [(where, str(code), sorted(given)) for where, code, given in sites
             if not given >= set(PLACEHOLDER.findall(messages.TEXTS[code] + HINTS.get(code, "")))]
    assert not wrong


def test_every_raising_site_gives_the_params_of_its_sentence():
    """More params than the sentence names are fine (programs read them, e.g. the id of a lost upload)."""
    sites = list(_raising_sites())
    assert len(sites) > 100  # the scan finds the engine's raise statements
    wrong = [(where, str(code), sorted(given), sorted(set(PLACEHOLDER.findall(messages.TEXTS[code]))))
             for where, code, given in sites if not given >= set(PLACEHOLDER.findall(messages.TEXTS[code]))]
    assert not wrong


FORM = FormDefinition({
    "type": "object", "additionalProperties": False, "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 5}, "n": {"type": "integer", "minimum": 2},
                   "ok": {"type": "boolean"}, "when": {"type": "string", "format": "date-time"},
                   "kind": {"enum": ["a", "b"]}, "tags": {"type": "array", "maxItems": 1}},
}, {})


def test_the_form_validator_answers_in_codes():
    _clean, errors = validate(FORM, {"n": 1, "when": "soon", "kind": "c", "tags": ["x", "y"], "typename": 1,
                                     "extra": "\x00"})
    assert errors == {
        "name": [FieldError(FormCode.REQUIRED)], "n": [FieldError(FormCode.BELOW_MINIMUM, {"minimum": 2})],
        "when": [FieldError(FormCode.NOT_A_DATE_TIME)], "kind": [FieldError(FormCode.NOT_AN_OPTION)],
        "tags": [FieldError(FormCode.TOO_MANY_ITEMS, {"max": 1})],
        "typename": [FieldError(FormCode.NAME_NOT_ALLOWED, {"key": "typename"})],
        "_form": [FieldError(FormCode.NAME_NOT_ALLOWED, {"key": "typename"})],
        "extra": [FieldError(FormCode.NUL_CHARACTER)]}
    assert validate(FORM, ["x"])[1] == {"_form": [FieldError(FormCode.FORM_NOT_OBJECT)]}
    assert validate(FORM, {"name": "toolong"})[1] == {"name": [FieldError(FormCode.TOO_LONG, {"max": 5})]}
    _data, typed = coerce(FORM, {"n": ["x"], "ok": ["perhaps"], "name": ["a", "b"], "who": ["?"]})
    assert typed == {"n": [FieldError(FormCode.NOT_WHOLE_NUMBER)], "ok": [FieldError(FormCode.NOT_YES_NO)],
                     "name": [FieldError(FormCode.ONE_VALUE_ONLY)], "who": [FieldError(FormCode.NOT_IN_FORM)]}
    assert raw_errors(FORM, {"name": ["a"]}) == {} and text_errors("") == [FieldError(FormCode.REQUIRED)]
    assert all(isinstance(e.code, FormCode) for found in typed.values() for e in found)


def test_the_engine_raises_codes_with_params():
    err = NotFound(Code.TASK_NOT_FOUND, task="t1")
    assert (err.code, err.params) == (Code.TASK_NOT_FOUND, {"task": "t1"})
    invalid = InvalidInput.field("files", Code.TOO_MANY_FILES, max=3)
    assert invalid.code == Code.INVALID_INPUT and invalid.errors == {"files": [FieldError(Code.TOO_MANY_FILES,
                                                                                           {"max": 3})]}


def test_pages_word_engine_refusals_in_the_page_language(system, login):
    chinese = text_of(login("agent1").get("/complaints/9999"))
    assert "投诉 9999 不存在。" in chinese
    english = login("agent1", "en").get("/complaints/9999")
    assert english.status_code == 404 and "Complaint 9999 does not exist." in text_of(english)
    cid = start(system).complaint_id
    page = login("agent1", "zh").post(f"/complaints/{cid}/comments", data={"body": "a\x00b"})  # the engine's to refuse
    assert page.status_code == 422 and "文本含有不允许的空字符（NUL）。" in text_of(page)


def test_the_api_answers_codes_and_words_them_in_the_request_language(system, app):
    with UnitOfWork(system.db) as uow:
        secret = api_tokens.create_token(uow, SYSTEM, "agent1", "tests")[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    body = problem(client.get("/api/v1/tasks/nothing", headers=headers), 404)
    assert (body["code"], body["params"], body["detail"]) == ("task_not_found", {"task": "nothing"},
                                                              "Task nothing does not exist.")
    chinese = problem(client.get("/api/v1/tasks/nothing", headers={**headers, "Accept-Language": "zh-CN"}), 404)
    assert chinese["detail"] == "任务 nothing 不存在。"


def test_the_api_refuses_what_its_schemas_refuse_with_codes_worded_in_the_request_language(system, app):
    with UnitOfWork(system.db) as uow:
        secret = api_tokens.create_token(uow, SYSTEM, "agent1", "tests")[1]
    client = app.test_client()
    url = "/api/v1/complaints?per_page=1000&status=gone&created_from=yesterday&colour=blue&q="
    zh = {"Authorization": f"Bearer {secret}", "Accept-Language": "zh-CN"}
    body = problem(client.get(url, headers=zh), 422)
    assert body["code"] == "invalid_input"
    assert body["field_errors"] == {
        "per_page": [{"code": "above_maximum", "params": {"maximum": 200}}],
        "status": [{"code": "one_of", "params": {"options": "open, closed"}}],
        "created_from": [{"code": "not_a_date_time", "params": {}}],
        "colour": [{"code": "not_in_form", "params": {}}],
        "q": [{"code": "too_short", "params": {"min": 1}}]}
    worded = [body["detail"], *(text for texts in body["errors"].values() for text in texts)]
    assert not [text for text in worded if ENGLISH.search(text)], worded
    assert body["errors"]["per_page"] == [messages.render("above_maximum", {"maximum": 200}, messages.in_locale("zh"))]
    english = problem(client.get("/api/v1/complaints?page=1&page=2", headers={"Authorization": zh["Authorization"]}),
                      422)
    assert english["errors"] == {"page": ["Give only one value."]}
    for refused, status in ((client.post("/api/v1/complaints", data="{", headers=zh | {"Content-Type":
                                                                                       "application/json"}), 400),
                            (client.post("/api/v1/complaints", data="x", headers=zh), 415),
                            (client.get("/api/v1/nowhere", headers=zh), 404),
                            (client.get("/api/v1/tasks", headers={"Accept-Language": "zh"}), 401)):
        found = problem(refused, status)
        assert found["code"] and not ENGLISH.search(found["detail"]), found


def test_migration_refusals_are_worded_on_the_version_page(system, login):
    at_hand_over = start(system).complaint_id
    step(system, at_hand_over, "judge_validity")
    lane = deploy(system, with_lane("hand_over", "agent", "cs_manager"))
    owner = login("owner", "zh")
    assert "待处理的任务 hand_over 在新版本中有改动（泳道）。" in text_of(owner.get(f"/models/versions/{lane}"))
    moved = owner.post(f"/models/versions/{lane}/migrate", data={"complaint_id": at_hand_over})
    assert "待处理的任务 hand_over 在新版本中有改动（泳道）。" in text_of(owner.get(moved.location))
