"""Foreign models (tests/modelling/corpus/, one folder per bundle, built from what public suites exercise)
through every path a model comes in by: the validator, `complaints validate`, the API and the web upload.
Each path must give the same verdict, and every refusal the same file, line and element."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.config import PROJECT_ROOT
from engine.errors import ModelCode as M
from engine.workflow.deploy import read_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid
from tests.api.conftest import api, token  # noqa: F401
from tests.web.conftest import text_of
from web.cli import main as cli
from web.model_messages import HINTS

CORPUS = Path(__file__).resolve().parent / "corpus"

#: case → (process the bundle defines, [(file, element id, text on the problem's line, code, some of its params)]);
#: no problems means the bundle is accepted.
CASES = {
    "accepted_script": ("script_only", []),
    "accepted_bom": ("bom_process", []),  # a UTF-8 byte-order mark, as Windows editors save it
    "accepted_dmn": ("accepted_dmn", []),
    "plain_task": ("plain_task", [("plain_task.bpmn", "check_goods", '<bpmn:task id="check_goods"',
                                   M.UNTYPED_TASK, {"kind": "task"})]),
    "self_call": ("self_call", [("self_call.bpmn", "call_myself", 'id="call_myself"', M.CALL_CYCLE, {})]),
    "call_cycle": ("cycle_a", [("cycle_a.bpmn", "call_b", 'id="call_b"', M.CALL_CYCLE,
                                {"chain": "cycle_a → cycle_b → cycle_a"}),
                               ("cycle_b.bpmn", "call_a", 'id="call_a"', M.CALL_CYCLE,
                                {"chain": "cycle_b → cycle_a → cycle_b"})]),
    "missing_called": ("missing_called", [("missing_called.bpmn", "call_billing", 'id="call_billing"',
                                           M.CALLED_PROCESS_MISSING, {"process": "billing_process"})]),
    "message_catch": ("message_catch", [("message_catch.bpmn", "wait_payment", 'id="wait_payment"',
                                         M.MESSAGE_NEVER_SENT, {"message": "payment_received"})]),
    "signal_catch": ("signal_catch", [("signal_catch.bpmn", "wait_stock", 'id="wait_stock"',
                                       M.SIGNAL_NEVER_SENT, {"signal": "stock_arrived"})]),
    "time_cycle": ("time_cycle", [("time_cycle.bpmn", "every_hour", "<bpmn:timeCycle>", M.TIME_CYCLE, {})]),
    "unknown_function": ("unknown_function", [
        ("unknown_function.bpmn", "fetch_data", "get_current_task_data()", M.UNKNOWN_FUNCTION,
         {"function": "get_current_task_data"}),
        ("unknown_function.bpmn", "fetch_data", "custom_function(data)", M.UNKNOWN_FUNCTION,
         {"function": "custom_function"})]),
    "camunda_extension": ("camunda_extension", [("camunda_extension.bpmn", "prepare", "<camunda:inputOutput>",
                                                 M.FOREIGN_EXTENSION, {"prefix": "camunda", "name": "inputOutput"})]),
    "camunda_collection": ("camunda_collection", [
        ("camunda_collection.bpmn", "each_item", "camunda:collection=", M.FOREIGN_ATTRIBUTE, {"name": "collection"}),
        ("camunda_collection.bpmn", "each_item", "camunda:collection=", M.FOREIGN_ATTRIBUTE,
         {"name": "elementVariable"})]),
    "non_executable": ("non_executable", [("non_executable.bpmn", "non_executable", '<bpmn:process id=',
                                           M.PROCESS_NOT_EXECUTABLE, {"process": "non_executable"})]),
    "dead_end": ("dead_end", [("dead_end.bpmn", "compute", 'id="compute"', M.DEAD_END, {})]),
    "xhtml_markup": ("xhtml_markup", [("xhtml_markup.bpmn", "compute", "<xhtml:script>", M.MARKUP_ELEMENT,
                                       {"kind": "XHTML", "tag": "script"})]),
    "dmn_feel_true": ("dmn_feel_true", [("discount.dmn", "rule_gold_rate", 'id="rule_gold_rate"', M.FEEL_LITERAL,
                                         {"literal": "true", "python": "True"})]),
    "dmn_collect_sum": ("dmn_collect_sum", [("discount.dmn", "discount", "<decisionTable",
                                             M.HIT_POLICY_AGGREGATION, {"aggregation": "SUM"})]),
    "dmn_no_input_text": ("dmn_no_input_text", [("discount.dmn", "in_level", '<input id="in_level"',
                                                 M.DMN_INPUT_NO_EXPRESSION, {})]),
    "dmn_literal": ("dmn_literal", [("discount.dmn", "discount", '<decision id="discount"', M.DECISION_LITERAL,
                                     {})]),
    "dmn_malformed_rule": ("dmn_malformed_rule", [("discount.dmn", "rule_gold_extra", 'id="rule_gold_extra"',
                                                   M.MISSING_ELEMENT, {})]),
    "loop_function": ("loop_function", [("loop_function.bpmn", "each_item", "<bpmn:loopCardinality>",
                                         M.UNKNOWN_FUNCTION, {"what": "loopCardinality", "function": "count_items"})]),
    "ignored_scripts": ("ignored_scripts", [
        ("ignored_scripts.bpmn", "compute", "<spiffworkflow:preScript>", M.SCRIPT_IGNORED,
         {"script": "preScript", "kind": "scriptTask"}),
        ("ignored_scripts.bpmn", "end", "<spiffworkflow:postScript>", M.SCRIPT_IGNORED,
         {"script": "postScript", "kind": "endEvent"})]),
    "bare_less_than": ("bare_less_than", [("bare_less_than.bpmn", None, "amount < 100", M.XML_UNESCAPED,
                                           {"char": "<"})]),  # a condition typed by hand: XML needs &lt;
    "multiple_outgoing": ("multiple_outgoing", [("multiple_outgoing.bpmn", "compute", 'id="compute"',
                                                 M.SPIFF_MULTIPLE_OUTGOING, {})]),
}


def expected(case: str) -> set[tuple[str, int, str]]:
    """(file, line, element) of each expected problem, the line found from the text on it."""
    found = set()
    for file, element, marker, _code, _params in CASES[case][1]:
        lines = (CORPUS / case / file).read_text(encoding="utf-8-sig").splitlines()
        found.add((file, next(i for i, line in enumerate(lines, 1) if marker in line), element))
    return found


def located(problems: list[dict]) -> set[tuple[str, int, str]]:
    return {(p["file"], p["line"], p["element_id"]) for p in problems}


def check_messages(case: str, problems: list[dict]) -> None:
    """Each expected problem by its code and params; where a path words them (all but the validator's own),
    a sentence and a hint in English, never a raw exception text."""
    for file, element, _marker, code, params in CASES[case][1]:
        assert any(p["file"] == file and p["element_id"] == element and p["code"] == code
                   and params.items() <= p["params"].items() and code in HINTS for p in problems), (code, problems)
    for problem in problems:
        if "message" not in problem:
            continue
        assert problem["message"] and problem["hint"], problem
        assert "Error(" not in problem["message"] and "Traceback" not in problem["message"]
        assert not problem["message"].endswith((" of type.", " type.")), problem["message"]


def test_the_corpus_is_complete():
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(CASES)
    assert (CORPUS / "accepted_bom" / "bom_process.bpmn").read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_validator(case):
    process_id, problems = CASES[case]
    if not problems:
        assert validate_bundle(read_bundle(CORPUS / case)).process_id == process_id
        return
    with pytest.raises(ModelInvalid) as refused:
        validate_bundle(read_bundle(CORPUS / case))
    found = [p.as_dict() for p in refused.value.problems]
    assert located(found) == expected(case)
    check_messages(case, found)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_command_line(case):
    result = CliRunner().invoke(cli, ["validate", "--json", str(CORPUS / case)])
    [report] = json.loads(result.stdout)
    if not CASES[case][1]:
        assert result.exit_code == 0 and report["ok"] and report["process"] == CASES[case][0]
        return
    assert result.exit_code == 2 and not report["ok"]
    assert located(report["problems"]) == expected(case)
    check_messages(case, report["problems"])


def test_validate_gives_the_parser_s_words_in_brackets(tmp_path):
    """The one-line problem says the sentence, then libxml2's own words in brackets, then the hint."""
    models = tmp_path / "models"
    shutil.copytree(PROJECT_ROOT / "workflows", models)
    bpmn = models / "complaint_lifecycle.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace("</bpmn:process>", "</bpmn:proces>", 1),
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(models)])
    assert result.exit_code == 2
    assert "closed by </proces>. (Opening and ending tag mismatch: process line " in result.output
    assert result.output.index("(Opening and ending") < result.output.index("(hint: ")


def _files(case: str) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(path.read_bytes()), path.name) for path in sorted((CORPUS / case).iterdir())]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_api(system, api, case):  # noqa: F811
    process_id, problems = CASES[case]
    checked = api("owner").post(f"/api/v1/process-models/validate?process_id={process_id}",
                                data={"files": _files(case)}, content_type="multipart/form-data")
    if not problems:
        assert checked.status_code == 200 and checked.json["valid"] is True, checked.json
        assert checked.json["process_id"] == process_id
        return
    assert checked.status_code == 200 and checked.json["valid"] is False, checked.json
    assert located(checked.json["problems"]) == expected(case)
    check_messages(case, checked.json["problems"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_web_upload(system, login, case):
    owner = login("owner", "en")
    process_id, problems = CASES[case]
    uploaded = owner.post("/models/upload", data={"files": _files(case)}, content_type="multipart/form-data")
    assert uploaded.status_code == 303
    if uploaded.location.endswith("/models/"):  # refused at upload: the message names file, line and element
        page = text_of(owner.get(uploaded.location))
        assert problems and all(f"{file}:{line}" + (f" [{element}]" if element else "") in page
                                for file, line, element in expected(case)), page
        return
    assert uploaded.location.endswith(f"/models/{process_id}/draft")
    check = owner.post(f"/models/{process_id}/draft/validate").json
    if not problems:
        assert check["problems"] == [], check
        return
    assert located(check["problems"]) == expected(case)
    check_messages(case, check["problems"])
    assert owner.post(f"/models/{process_id}/draft/deploy").status_code == 422
