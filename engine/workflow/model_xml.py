"""Model files as XML: safe parsing, namespaces, and the problems reported about them (shared by
deployment, support checks, diffs and the modeller)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.errors import ModelCode

MAX_MODEL_FILE_BYTES = 2 * 1024 * 1024

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}


@dataclass(frozen=True)
class ModelProblem:
    """One reason a model was refused: where (file, line, element) and why, as a `ModelCode` with the
    values its sentence and hint need; `web/messages.py` words it in the reader's language."""

    file: str
    line: int | None
    element_id: str | None
    code: ModelCode
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        """A short form for logs and exceptions: `file:line [element]: code(params)`."""
        where = self.file + (f":{self.line}" if self.line else "")
        element = f" [{self.element_id}]" if self.element_id else ""
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{where}{element}: {self.code}({args})"

    def as_dict(self) -> dict:
        """As JSON: file, line, element_id, code and params."""
        return {"file": self.file, "line": self.line, "element_id": self.element_id,
                "code": str(self.code), "params": dict(self.params)}


class ModelInvalid(Exception):
    """The bundle cannot be deployed; `problems` says why, each with file, element and line."""

    def __init__(self, problems: list[ModelProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


_SAFE_PARSER_OPTIONS = dict(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_comments=False,
)


#: Namespaces of markup a browser would render or run. Model files are data: such elements are refused,
#: so no version stored from now on can carry a script (docs/MODELLING.md, "Model files are data").
MARKUP_NAMESPACES = {
    "http://www.w3.org/1999/xhtml": "XHTML", "http://www.w3.org/2000/svg": "SVG",
    "http://www.w3.org/1998/Math/MathML": "MathML", "http://www.w3.org/1999/XSL/Transform": "XSLT",
}
_MARKUP_NAMES = {"script", "iframe", "object", "embed", "foreignObject", "frame", "frameset", "meta", "link",
                 "base", "form", "style"}
#: Namespaces whose elements are model data even when named like markup (bpmn:script holds a Python script).
_MODEL_NAMESPACES = {*NS.values(), "http://www.omg.org/spec/DMN/20180521/MODEL/", "http://www.omg.org/spec/BPMN/20100524/DI",
                     "http://www.omg.org/spec/DD/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC"}
_BOM = b"\xef\xbb\xbf"


def markup_problems(root: etree._Element, filename: str) -> list[ModelProblem]:
    """Elements, attributes and processing instructions that would make a browser run or render something."""
    problems = []
    for node in root.getroottree().iter():
        if isinstance(node, etree._ProcessingInstruction):
            problems.append(ModelProblem(filename, node.sourceline, None, ModelCode.MARKUP_INSTRUCTION,
                                         {"target": node.target}))
            continue
        if not isinstance(node.tag, str):
            continue
        tag = etree.QName(node)
        if tag.namespace in MARKUP_NAMESPACES or (tag.localname in _MARKUP_NAMES
                                                  and tag.namespace not in _MODEL_NAMESPACES):
            kind = MARKUP_NAMESPACES.get(tag.namespace, "markup")
            problems.append(ModelProblem(filename, node.sourceline, owner_id(node.getparent()),
                                         ModelCode.MARKUP_ELEMENT, {"kind": kind, "tag": tag.localname}))
            continue
        for name, value in node.attrib.items():
            qname = etree.QName(name)
            if (qname.namespace in MARKUP_NAMESPACES or qname.localname.lower().startswith("on")
                    and qname.namespace is not None) or value.strip().lower().startswith(("javascript:",
                                                                                          "data:text/html")):
                problems.append(ModelProblem(filename, node.sourceline, owner_id(node), ModelCode.MARKUP_ATTRIBUTE,
                                             {"attribute": qname.localname, "value": value[:40]}))
    return problems


#: libxml2's syntax errors by their number (`lxml.etree.ErrorTypes`, libxml2's xmlParserErrors), in families of
#: the same advice; each a code of its own worded in the reader's language. libxml2's message stays `detail`.
_SYNTAX_CODES: dict[int, ModelCode] = {
    4: ModelCode.XML_EMPTY,  # XML_ERR_DOCUMENT_EMPTY
    5: ModelCode.XML_EXTRA_CONTENT,  # XML_ERR_DOCUMENT_END
    9: ModelCode.XML_INVALID_CHAR,  # XML_ERR_INVALID_CHAR (a control character, &#0;)
    23: ModelCode.XML_UNESCAPED,  # XML_ERR_ENTITYREF_SEMICOL_MISSING: "&" and a name without ";"
    26: ModelCode.XML_UNDEFINED_ENTITY,  # XML_ERR_UNDECLARED_ENTITY
    38: ModelCode.XML_UNESCAPED,  # XML_ERR_LT_IN_ATTRIBUTE
    39: ModelCode.XML_ATTRIBUTE_NOT_QUOTED,  # XML_ERR_ATTRIBUTE_NOT_STARTED
    40: ModelCode.XML_ATTRIBUTE_NOT_QUOTED,  # XML_ERR_ATTRIBUTE_NOT_FINISHED
    41: ModelCode.XML_ATTRIBUTE_NO_VALUE,  # XML_ERR_ATTRIBUTE_WITHOUT_VALUE
    42: ModelCode.XML_DUPLICATE_ATTRIBUTE,  # XML_ERR_ATTRIBUTE_REDEFINED
    45: ModelCode.XML_COMMENT,  # XML_ERR_COMMENT_NOT_FINISHED
    80: ModelCode.XML_COMMENT,  # XML_ERR_HYPHEN_IN_COMMENT
    62: ModelCode.XML_CDATA,  # XML_ERR_MISPLACED_CDATA_END
    63: ModelCode.XML_CDATA,  # XML_ERR_CDATA_NOT_FINISHED
    64: ModelCode.XML_DECLARATION_NOT_FIRST,  # XML_ERR_RESERVED_XML_NAME
    65: ModelCode.XML_TAG_NOT_FINISHED,  # XML_ERR_SPACE_REQUIRED (between attributes)
    73: ModelCode.XML_TAG_NOT_FINISHED,  # XML_ERR_GT_REQUIRED
    76: ModelCode.XML_TAG_MISMATCH,  # XML_ERR_TAG_NAME_MISMATCH
    77: ModelCode.XML_NOT_CLOSED,  # XML_ERR_TAG_NOT_FINISHED
    81: ModelCode.XML_NOT_UTF8,  # XML_ERR_INVALID_ENCODING
    201: ModelCode.XML_UNDEFINED_PREFIX,  # XML_NS_ERR_UNDEFINED_NAMESPACE
    202: ModelCode.XML_BAD_NAME,  # XML_NS_ERR_QNAME
}
_NAME_REQUIRED = 68  # XML_ERR_NAME_REQUIRED: which character stood before the missing name says what it was
#: The names some families' sentences give, read from libxml2's fixed message formats (libxml2 2.9-2.13:
#: parser.c's xmlFatalErrMsgStr… calls). The code never depends on them: a format that does not match leaves
#: the sentence its "?" where the name would be.
_NAMES = {
    ModelCode.XML_TAG_MISMATCH: r"mismatch: (?P<open>[^\s,]+) line (?P<open_line>\d+) and (?P<close>[^\s,]+)",
    ModelCode.XML_NOT_CLOSED: r"in tag (?P<tag>[^\s,]+) line (?P<open_line>\d+)",
    ModelCode.XML_UNDEFINED_ENTITY: r"Entity '(?P<entity>[^']+)'",
    ModelCode.XML_UNDEFINED_PREFIX: r"prefix (?P<prefix>\S+) on (?P<tag>[^\s,]+)",
    ModelCode.XML_DUPLICATE_ATTRIBUTE: r"Attribute (?P<attribute>[^\s,]+) redefined",
}


def syntax_problem(filename: str, err: etree.XMLSyntaxError, data: bytes = b"") -> ModelProblem:
    """An XML syntax error at its line, by libxml2's error number (never its message): a family's code, else
    MALFORMED_XML with the line and column; libxml2's words are kept as `detail` (shown apart, technical)."""
    line, column = err.position if err.position else (err.lineno, 0)
    detail = err.msg or ""
    code = _SYNTAX_CODES.get(err.code)
    params: dict[str, Any] = {"line": line, "column": column, "detail": detail}
    if err.code == _NAME_REQUIRED:
        char = _char_before(data, line, column)
        code = ModelCode.XML_UNESCAPED if char in ("<", "&") else ModelCode.XML_BAD_NAME if char else None
        if code == ModelCode.XML_UNESCAPED:
            params["char"] = char
    elif err.code in (23, 38):
        params["char"] = "&" if err.code == 23 else "<"
    if code is None:
        return ModelProblem(filename, line, None, ModelCode.MALFORMED_XML, params)
    found = re.search(_NAMES[code], detail) if code in _NAMES else None
    return ModelProblem(filename, line, None, code, {**params, **(found.groupdict() if found else {})})


def _char_before(data: bytes, line: int, column: int) -> str:
    """The character just before libxml2's (1-based, in characters) position, "" when it cannot be found."""
    lines = data.decode("utf-8", "replace").split("\n")
    if not 0 < line <= len(lines) or not 1 < column <= len(lines[line - 1]) + 1:
        return ""
    return lines[line - 1][column - 2]


def parse_xml(text: str | bytes, filename: str) -> etree._Element:
    """Parse model XML safely: no DTD, no entities, no network, bounded size, no browser markup.
    A UTF-8 byte-order mark is allowed (and ignored), whichever way the file arrives. Raises ModelInvalid."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    data = data.removeprefix(_BOM)
    if len(data) > MAX_MODEL_FILE_BYTES:
        raise ModelInvalid([ModelProblem(filename, None, None, ModelCode.FILE_OVER_LIMIT,
                                         {"size": len(data), "max": MAX_MODEL_FILE_BYTES})])
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in data[:65536].upper() or b"<!ENTITY" in data[:65536].upper():
        raise ModelInvalid([ModelProblem(filename, 1, None, ModelCode.DOCTYPE_NOT_ALLOWED)])
    if not head.startswith(b"<"):
        raise ModelInvalid([ModelProblem(filename, 1, None, ModelCode.NOT_XML)])
    try:
        root = etree.fromstring(data, etree.XMLParser(**_SAFE_PARSER_OPTIONS))
    except etree.XMLSyntaxError as err:
        raise ModelInvalid([syntax_problem(filename, err, data)]) from err
    if root.getroottree().docinfo.doctype:
        raise ModelInvalid([ModelProblem(filename, 1, None, ModelCode.DOCTYPE_NOT_ALLOWED)])
    markup = markup_problems(root, filename)
    if markup:
        raise ModelInvalid(markup)
    return root


def elements(tree) -> Iterator[tuple[Any, etree.QName]]:
    """Every element of a tree (no comments or processing instructions) with its qualified name."""
    for node in tree.iter(etree.Element):
        yield node, etree.QName(node)


def owner_id(node) -> str | None:
    """The id of the model element a node belongs to (event definitions name their event)."""
    while node is not None:
        if node.get("id") and not etree.QName(node).localname.endswith("EventDefinition"):
            return node.get("id")
        node = node.getparent()
    return None
