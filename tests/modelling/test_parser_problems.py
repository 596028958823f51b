"""What the XML parser (libxml2) and SpiffWorkflow's BPMN parser refuse is a code with params, decided by the
error's number or the exception's type, attributes and exact text, never by the start of its English: worded in
the reader's language, with the library's words kept apart as the technical `detail` (docs/MODELLING.md,
"What is refused at deploy"; docs/ARCHITECTURE.md, "Errors")."""
from __future__ import annotations

import io
import json

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import ModelCode as M
from engine.workflow.deploy import VALIDATOR
from engine.workflow.model_xml import ModelInvalid, ModelProblem, parse_xml
from engine.workflow.parser_problems import problem_from_spiff
from tests.api.conftest import api, token  # noqa: F401
from tests.modelling.test_corpus import CORPUS
from tests.web.conftest import text_of
from tests.web.test_error_codes import ENGLISH
from web import messages

ROOT = "<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>"


def syntax(text: str) -> ModelProblem:
    with pytest.raises(ModelInvalid) as info:
        parse_xml(text, "m.bpmn")
    [problem] = info.value.problems
    return problem


def zh(problem: ModelProblem) -> dict:
    return messages.problem_texts(problem.as_dict(), messages.in_locale("zh"))


@pytest.mark.parametrize(("text", "code", "params", "chinese"), [
    ("<!-- only a comment -->", M.XML_EMPTY, {}, "文件中没有任何 XML 元素。"),
    (ROOT + "\n<a>\x01</a></bpmn:definitions>", M.XML_INVALID_CHAR, {"line": 2, "column": 4},
     "第 2 行第 4 列有 XML 不允许的字符（控制字符）。"),
    (ROOT + "<a x></a></bpmn:definitions>", M.XML_ATTRIBUTE_NO_VALUE, {}, "有一个属性没有值。"),
    (ROOT + "<a x='1'y='2'/></bpmn:definitions>", M.XML_TAG_NOT_FINISHED, {"line": 1},
     None),
    (ROOT + "<!-- a -- b --></bpmn:definitions>", M.XML_COMMENT, {}, "有一段注释没有以 --> 结束，或注释中含有 --。"),
    (ROOT + "<a>]]></a></bpmn:definitions>", M.XML_CDATA, {}, None),
    ("\n<?xml version='1.0'?>" + ROOT + "</bpmn:definitions>", M.XML_DECLARATION_NOT_FIRST, {"line": 2}, None),
    (ROOT + "<a:b:c/></bpmn:definitions>", M.XML_BAD_NAME, {"line": 1}, None),
    (ROOT + "<a>中文 &lt; 金额 < 100</a></bpmn:definitions>", M.XML_UNESCAPED, {"char": "<"}, None),
    (ROOT + "<a>甲 & 乙</a></bpmn:definitions>", M.XML_UNESCAPED, {"char": "&"}, None),
    (ROOT + "<a xmlns:p=''/></bpmn:definitions>", M.MALFORMED_XML, {"line": 1, "column": 89},
     "XML 格式不正确：第 1 行第 89 列。"),
], ids=lambda v: v.value if isinstance(v, M) else None)
def test_an_xml_syntax_error_is_a_code_by_its_number(text, code, params, chinese):
    problem = syntax(text)
    assert problem.code == code and params.items() <= problem.params.items(), problem
    assert problem.params["detail"] and problem.params["line"] == problem.line  # libxml2's words, apart
    worded = zh(problem)
    assert worded["detail"] == problem.params["detail"] and problem.params["detail"] not in worded["message"]
    assert not ENGLISH.search(worded["message"] + (worded["hint"] or "")), worded
    if chinese:
        assert worded["message"] == chinese


HEAD = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">\n'
START = '<bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>\n'


def process(body: str, executable: str = "true") -> str:
    return HEAD + f'<bpmn:process id="p" isExecutable="{executable}">\n{body}</bpmn:process></bpmn:definitions>'


def one_step(element: str) -> str:
    """Start → `element` (id `x`) → end."""
    return process(START + element + '\n<bpmn:endEvent id="e"/>\n<bpmn:sequenceFlow id="f0" sourceRef="s" '
                   'targetRef="x"/><bpmn:sequenceFlow id="f1" sourceRef="x" targetRef="e"/>\n')


def refusal(files: dict[str, str], validate: bool = False) -> tuple[ModelProblem, ValidationException]:
    """What SpiffWorkflow 3.2.0's parser itself raises for `files` (no check of ours runs first)."""
    trees = {name: etree.fromstring(text.encode()) for name, text in files.items()}
    parser = SpiffBpmnParser(validator=VALIDATOR if validate else None)
    with pytest.raises(ValidationException) as info:
        for name, tree in trees.items():
            parser.add_bpmn_xml(tree, filename=name)
        parser.get_spec("p")
    return problem_from_spiff(info.value, trees), info.value


@pytest.mark.parametrize(("files", "validate", "code", "element", "params", "chinese"), [
    ({"a.bpmn": process('<bpmn:endEvent id="e"/>')}, False, M.SPIFF_NO_START_EVENT, "p", {"process": "p"},
     "流程 p 没有开始事件。"),
    ({"a.bpmn": process(START, "false")}, False, M.PROCESS_NOT_EXECUTABLE, "p", {"process": "p"}, None),
    ({"a.bpmn": process(START), "b.bpmn": process(START)}, False, M.SPIFF_DUPLICATE_PROCESS, "p",
     {"process": "p"}, "流程 ID p 在模型包中出现了两次。"),
    ({"a.bpmn": process(START + '<bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
                        '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/><bpmn:sequenceFlow id="f1" '
                        'sourceRef="g" targetRef="e1"/><bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e2"/>')},
     False, M.SPIFF_FLOW_NO_CONDITION, "f1", {}, None),
    ({"a.bpmn": one_step('<bpmn:intermediateCatchEvent id="x"><bpmn:timerEventDefinition id="td"/>'
                         '</bpmn:intermediateCatchEvent>')}, False, M.SPIFF_TIMER_INVALID, "x", {}, None),
    ({"a.bpmn": one_step('<bpmn:intermediateCatchEvent id="x"><bpmn:conditionalEventDefinition id="cd"/>'
                         '</bpmn:intermediateCatchEvent>')}, False, M.SPIFF_CONDITION_MISSING, "x", {}, None),
    ({"a.bpmn": one_step('<bpmn:callActivity id="x"/>')}, False, M.CALL_NAMES_NO_PROCESS, "x", {"processes": "p"},
     None),
    ({"a.bpmn": process(START + '<bpmn:bogus id="x"/>')}, True, M.SPIFF_SCHEMA, "x", {"line": 4},
     "文件第 4 行不符合 BPMN 模式（schema）。"),
    ({"a.bpmn": process(START + '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f0" sourceRef="s" '
                        'targetRef="nowhere"/>')}, False, M.SPIFF_REFUSED, "s", {}, "工作流引擎拒绝此元素。"),
], ids=["no-start", "not-executable", "duplicate", "no-condition", "timer", "conditional", "call", "schema",
        "other"])
def test_spiffworkflows_refusal_is_a_code_by_its_exception(files, validate, code, element, params, chinese):
    problem, err = refusal(files, validate)
    assert (problem.code, problem.element_id) == (code, element) and params.items() <= problem.params.items()
    assert problem.line and problem.params["detail"] == " ".join(str(err.args[0]).split())
    worded = zh(problem)
    assert err.args[0].split()[0] not in worded["message"] and worded["detail"] == problem.params["detail"]
    assert not ENGLISH.search(worded["message"] + (worded["hint"] or "")), worded
    if chinese:
        assert worded["message"] == chinese


@pytest.mark.parametrize(("cause", "code", "params"), [
    (KeyError("sourceRef"), M.MISSING_REFERENCE, {"name": "sourceRef"}),
    (IndexError("list index out of range"), M.MISSING_ELEMENT, {}),
    (AttributeError("'NoneType' object has no attribute 'text'"), M.UNREADABLE_ELEMENT, {}),
])
def test_what_the_parser_trips_on_is_named_by_the_type_it_wraps(cause, code, params):
    """TaskParser.parse_node wraps any other exception as ValidationException("%r" % ex): the wrapped type
    decides, not the text."""
    tree = etree.fromstring(process(START).encode())
    node = tree.find(".//{*}startEvent")
    try:
        try:
            raise cause
        except Exception as ex:  # noqa: BLE001 - as SpiffWorkflow 3.2.0's TaskParser does
            raise ValidationException("%r" % ex, node=node, file_name="a.bpmn")  # noqa: B904, UP031 - as it does
    except ValidationException as err:
        problem = problem_from_spiff(err, {"a.bpmn": tree})
    assert (problem.code, problem.element_id) == (code, "s") and params.items() <= problem.params.items()
    assert problem.params["detail"] == repr(cause)


def test_the_modeller_shows_the_library_words_apart_from_the_chinese_sentence(login):
    """A SpiffWorkflow refusal in the modeller's check (the Chinese page's JSON): the sentence in Chinese, the
    library's words as `detail`, which the modeller shows on a folded line of its own."""
    owner = login("owner", "zh")
    uploaded = owner.post("/models/upload", data={"files": _corpus("multiple_outgoing")},
                          content_type="multipart/form-data")
    assert uploaded.location.endswith("/models/multiple_outgoing/draft")
    [problem] = owner.post("/models/multiple_outgoing/draft/validate").json["problems"]
    assert (problem["code"], problem["element_id"]) == (M.SPIFF_MULTIPLE_OUTGOING, "compute")
    assert problem["message"] == "此任务有多条流出的顺序流；工作流引擎只在网关处分支。"
    assert problem["detail"].startswith("Multiple outgoing flows") and not ENGLISH.search(problem["hint"])
    page = owner.get("/models/multiple_outgoing/draft").get_data(as_text=True)
    config = json.loads(page.split('id="modeller-config">')[1].split("</script>")[0])
    assert config["text"]["Technical detail"] == "技术细节"  # the modeller's words for the detail's line


def test_the_upload_page_says_a_malformed_file_in_chinese_only(login):
    owner = login("owner", "zh")
    bad = io.BytesIO(b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL' xmlns:p=''/>")
    uploaded = owner.post("/models/upload", data={"files": [(bad, "broken.bpmn")]},
                          content_type="multipart/form-data")
    page = text_of(owner.get(uploaded.location))
    assert "broken.bpmn:1: XML 格式不正确：第 1 行第 " in page
    assert "Empty XML namespace" not in page and "not well-formed" not in page


def test_the_api_carries_the_detail_beside_the_worded_problem(system, api):  # noqa: F811
    checked = api("owner").post("/api/v1/process-models/validate?process_id=multiple_outgoing",
                                data={"files": _corpus("multiple_outgoing")}, content_type="multipart/form-data",
                                headers={"Accept-Language": "zh"})
    [problem] = checked.json["problems"]
    assert problem["code"] == M.SPIFF_MULTIPLE_OUTGOING and problem["params"]["tag"] == "bpmn:scriptTask"
    assert problem["detail"] == problem["params"]["detail"] and problem["detail"] not in problem["message"]
    assert not ENGLISH.search(problem["message"])


def _corpus(case: str) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(path.read_bytes()), path.name) for path in sorted((CORPUS / case).iterdir())]


def test_a_sandbox_refusal_without_a_construct_keeps_its_words_out_of_the_sentence():
    """RestrictedPython's own refusals (no construct of ours names them) read as the sandbox's general sentence;
    its words are the technical detail."""
    problem = ModelProblem("m.bpmn", 3, "compute", M.EXPRESSION_REFUSED,
                           {"what": "script", "detail": "Line 1: Prints, but never reads 'printed' variable."})
    worded = zh(problem)
    assert worded["message"] == "脚本不被接受：代码使用了沙箱不允许的写法。"
    assert worded["detail"] == "Line 1: Prints, but never reads 'printed' variable."
