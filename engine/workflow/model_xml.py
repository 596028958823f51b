"""Model files as XML: safe parsing, namespaces, and the problems reported about them (shared by
deployment, support checks, diffs and the modeller)."""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

MAX_MODEL_FILE_BYTES = 2 * 1024 * 1024

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}


@dataclass(frozen=True)
class ModelProblem:
    """One reason a model was refused."""

    file: str
    line: int | None
    element_id: str | None
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        element = f" [{self.element_id}]" if self.element_id else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{element}: {self.message}{hint}"

    def as_dict(self) -> dict:
        return {
            "file": self.file, "line": self.line, "element_id": self.element_id,
            "message": self.message, "hint": self.hint,
        }


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
            problems.append(ModelProblem(filename, node.sourceline, None,
                                         f"processing instruction <?{node.target} …?> is not allowed in models",
                                         "remove it; model files are data, never styled or transformed"))
            continue
        if not isinstance(node.tag, str):
            continue
        tag = etree.QName(node)
        if tag.namespace in MARKUP_NAMESPACES or (tag.localname in _MARKUP_NAMES
                                                  and tag.namespace not in _MODEL_NAMESPACES):
            kind = MARKUP_NAMESPACES.get(tag.namespace, "markup")
            problems.append(ModelProblem(filename, node.sourceline, owner_id(node.getparent()),
                                         f"{kind} element <{tag.localname}> is not allowed in models",
                                         "remove it; documentation is plain text (bpmn:documentation)"))
            continue
        for name, value in node.attrib.items():
            qname = etree.QName(name)
            if (qname.namespace in MARKUP_NAMESPACES or qname.localname.lower().startswith("on")
                    and qname.namespace is not None) or value.strip().lower().startswith(("javascript:",
                                                                                          "data:text/html")):
                problems.append(ModelProblem(filename, node.sourceline, owner_id(node),
                                             f"attribute {qname.localname}={value[:40]!r} is markup, not model data",
                                             "remove the attribute"))
    return problems


def parse_xml(text: str | bytes, filename: str) -> etree._Element:
    """Parse model XML safely: no DTD, no entities, no network, bounded size, no browser markup.
    A UTF-8 byte-order mark is allowed (and ignored), whichever way the file arrives. Raises ModelInvalid."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    data = data.removeprefix(_BOM)
    if len(data) > MAX_MODEL_FILE_BYTES:
        raise ModelInvalid([ModelProblem(
            filename, None, None, f"file is {len(data)} bytes; the limit is {MAX_MODEL_FILE_BYTES}")])
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in data[:65536].upper() or b"<!ENTITY" in data[:65536].upper():
        raise ModelInvalid([ModelProblem(
            filename, 1, None, "DOCTYPE and entity declarations are not allowed in model files",
            "remove the <!DOCTYPE …> block; BPMN and DMN files never need one")])
    if not head.startswith(b"<"):
        raise ModelInvalid([ModelProblem(filename, 1, None, "not an XML file: it does not start with '<'",
                                         "save it from the modeller as .bpmn or .dmn (XML, UTF-8)")])
    try:
        root = etree.fromstring(data, etree.XMLParser(**_SAFE_PARSER_OPTIONS))
    except etree.XMLSyntaxError as err:
        raise ModelInvalid([ModelProblem(filename, err.lineno, None, f"malformed XML: {err.msg}")]) from err
    if root.getroottree().docinfo.doctype:
        raise ModelInvalid([ModelProblem(filename, 1, None, "DOCTYPE is not allowed in model files")])
    markup = markup_problems(root, filename)
    if markup:
        raise ModelInvalid(markup)
    return root


def owner_id(node) -> str | None:
    """The id of the model element a node belongs to (event definitions name their event)."""
    while node is not None:
        if node.get("id") and not etree.QName(node).localname.endswith("EventDefinition"):
            return node.get("id")
        node = node.getparent()
    return None
