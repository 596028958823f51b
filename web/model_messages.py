"""The sentences and hints of the validator's refusals of a model (`engine.errors.ModelCode`), worded by
`web.messages` like every other code; kept apart because there are many (docs/ARCHITECTURE.md, "Errors")."""
from __future__ import annotations

from engine.errors import ModelCode as M
from web.mail import N_

#: What is wrong; `%(name)s` are the problem's params. The file, line and element are shown beside it.
MODEL_TEXTS: dict[str, str] = {
    M.FILE_OVER_LIMIT: N_("The file is %(size)s bytes; the limit is %(max)s."),
    M.DOCTYPE_NOT_ALLOWED: N_("DOCTYPE and entity declarations are not allowed in model files."),
    M.NOT_XML: N_("Not an XML file: it does not start with <."),
    M.MALFORMED_XML: N_("The XML is not well-formed at line %(line)s, column %(column)s."),
    M.XML_TAG_MISMATCH: N_("The element <%(open)s> opened on line %(open_line)s is closed by </%(close)s>."),
    M.XML_NOT_CLOSED: N_("The file ends before <%(tag)s>, opened on line %(open_line)s, is closed."),
    M.XML_EXTRA_CONTENT: N_("There is content after the end of the root element."),
    M.XML_ATTRIBUTE_NOT_QUOTED: N_("An attribute's value is not in quotes."),
    M.XML_UNESCAPED: N_("A bare %(char)s is not allowed here."),
    M.XML_UNDEFINED_ENTITY: N_("The entity &%(entity)s; is not defined in XML."),
    M.XML_UNDEFINED_PREFIX: N_("The namespace prefix %(prefix)s (on %(tag)s) is not declared."),
    M.XML_DUPLICATE_ATTRIBUTE: N_("The attribute %(attribute)s is given twice on one element."),
    M.XML_NOT_UTF8: N_("The file is not UTF-8 text."),
    M.XML_EMPTY: N_("The file holds no XML element."),
    M.XML_INVALID_CHAR: N_("Line %(line)s, column %(column)s holds a character XML does not allow (a control "
                           "character)."),
    M.XML_ATTRIBUTE_NO_VALUE: N_("An attribute has no value."),
    M.XML_TAG_NOT_FINISHED: N_("A tag is not finished at line %(line)s, column %(column)s: a > or a space between "
                               "two attributes is missing."),
    M.XML_COMMENT: N_("A comment is not closed with -->, or holds -- inside."),
    M.XML_CDATA: N_("A CDATA section is not closed with ]]>, or ]]> stands outside one."),
    M.XML_DECLARATION_NOT_FIRST: N_("The XML declaration <?xml …?> is not at the very start of the file."),
    M.XML_BAD_NAME: N_("At line %(line)s, column %(column)s a name is missing or is not a valid XML name."),
    M.MARKUP_INSTRUCTION: N_("The processing instruction <?%(target)s …?> is not allowed in models."),
    M.MARKUP_ELEMENT: N_("The %(kind)s element <%(tag)s> is not allowed in models."),
    M.MARKUP_ATTRIBUTE: N_("The attribute %(attribute)s=%(value)s is markup, not model data."),
    M.NO_BPMN_FILE: N_("The bundle has no .bpmn file."),
    M.PROCESS_NOT_IN_BUNDLE: N_("The process %(process)s is not an executable process of the bundle."),
    M.NO_PROCESS: N_("The bundle has no process, only diagrams or collaborations."),
    M.SEVERAL_PROCESSES: N_("The bundle holds %(count)s top-level processes (%(processes)s); which one runs would "
                            "depend on file order."),
    M.NO_TEST_CASES: N_("The bundle has no test cases."),
    M.TEST_CASES_UNREADABLE: N_("The test cases are not valid JSON at line %(line)s, column %(column)s."),
    M.TEST_CASES_NO_LIST: N_("A test file must hold an object with a \"cases\" list."),
    M.FORM_INVALID_JSON: N_("The form is not valid JSON at line %(line)s, column %(column)s."),
    M.FORM_FILE_NOT_OBJECT: N_("A form file must hold a JSON object."),
    M.FORM_SCHEMA_INVALID: N_("The value of %(keyword)s breaks the JSON Schema rule %(rule)s."),
    M.FORM_SCHEMA_WRONG_TYPE: N_("The value of %(keyword)s must be %(expected)s."),
    M.FORM_SCHEMA_BELOW_MINIMUM: N_("The value of %(keyword)s must be at least %(minimum)s."),
    M.FORM_SCHEMA_REPEATED: N_("The list %(keyword)s names an entry twice."),
    M.FORM_SCHEMA_UNKNOWN_VALUE: N_("%(value)s is not a value %(keyword)s accepts."),
    M.FORM_SCHEMA_NOT_OBJECT: N_("A form schema must have \"type\": \"object\"."),
    M.FORM_PATTERN_PROPERTIES: N_("patternProperties is not supported in forms."),
    M.FORM_PATTERN_UNSUPPORTED: N_("The pattern %(pattern)s cannot be used: form patterns run on RE2, which has "
                                   "no backreferences or look-around and repeats at most 1000 times."),
    M.FORM_FILE_MISSING: N_("The form file %(form)s is not in the bundle."),
    M.FORM_SCHEMA_SUFFIX: N_("A form schema file must end in .schema.json."),
    M.RULES_INVALID_JSON: N_("The rules are not valid JSON at line %(line)s, column %(column)s."),
    M.RULES_NOT_OBJECT: N_("The rules file must hold a JSON object."),
    M.RULES_NOT_LIST: N_("%(list)s must be a list."),
    M.RULES_ENTRY_NEEDS_KEY: N_("%(entry)s needs \"%(key)s\" (text)."),
    M.RULES_ENTRY_NEEDS_WORDS: N_("%(entry)s (%(value)s) needs \"words\": a list of non-empty texts."),
    M.RULES_VALUE_NOT_OFFERED: N_("%(entry)s: \"%(value)s\" is not a %(key)s of the intake form (%(options)s)."),
    M.SPIFF_REFUSED: N_("The workflow engine refuses this element."),
    M.SPIFF_MULTIPLE_OUTGOING: N_("This task has several outgoing sequence flows; the workflow engine branches at "
                                  "gateways only."),
    M.SPIFF_SCHEMA: N_("The file does not follow the BPMN schema at line %(line)s."),
    M.SPIFF_NO_START_EVENT: N_("The process %(process)s has no start event."),
    M.SPIFF_TASK_TYPE: N_("The workflow engine has no support for the element %(tag)s."),
    M.SPIFF_FLOW_NO_CONDITION: N_("A sequence flow leaving an exclusive gateway has no condition and is not its "
                                  "default flow."),
    M.SPIFF_DUPLICATE_PROCESS: N_("The process id %(process)s is used twice in the bundle."),
    M.SPIFF_CONDITION_MISSING: N_("The conditional event has no condition."),
    M.SPIFF_TIMER_INVALID: N_("The timer's value is not a date, a duration or a cycle the engine can read."),
    M.MISSING_REFERENCE: N_("A required attribute or reference (%(name)s) is missing here."),
    M.MISSING_ELEMENT: N_("An expected element is missing here (a decision rule with more entries than its table "
                          "has inputs and outputs, or a reference to something absent)."),
    M.UNREADABLE_ELEMENT: N_("This element could not be read: it does not have the shape the engine expects."),
    M.EXPRESSION_EMPTY: N_("The %(what)s is empty."),
    M.EXPRESSION_FEEL: N_("The %(what)s is a FEEL expression: %(source)s"),
    M.EXPRESSION_REFUSED: N_("The %(what)s is not accepted: %(detail)s"),
    M.EXPRESSION_SYNTAX: N_("The %(what)s has a syntax error at its line %(line)s, column %(column)s."),
    M.UNKNOWN_FUNCTION: N_("The %(what)s calls %(function)s(), which this engine does not provide."),
    M.FLOW_END_MISSING: N_("%(end)s points to the missing element %(target)s."),
    M.FEEL_CONDITION: N_("FEEL conditions are not supported."),
    M.BOUNDARY_ACTIVITY_MISSING: N_("attachedToRef points to the missing activity %(activity)s."),
    M.NO_DECISION_NAMED: N_("The business rule task names no decision."),
    M.DECISION_NOT_IN_BUNDLE: N_("The decision %(decision)s is not in the bundle's DMN files."),
    M.LANE_NOT_A_ROLE: N_("The user task is in the lane %(lane)s, which is not a role."),
    M.NOT_IN_A_LANE: N_("The user task is not in any lane."),
    M.UNTIMED_NEEDS_REASON: N_("The property untimed needs the reason as its value."),
    M.NO_TIME_LIMIT: N_("The user task has no time limit."),
    M.ROUTES_TO_UNKNOWN_DEPARTMENT: N_("The model routes to the department %(department)s, which the "
                                       "administrator has not added."),
    M.ROUTES_TO_INACTIVE_DEPARTMENT: N_("The model routes to the department %(department)s, which is "
                                        "deactivated."),
    M.ELEMENT_NOT_RUN: N_("%(kind)s is not supported: this engine cannot run it."),
    M.UNTYPED_TASK: N_("A task without a type is nobody's work here: the complaint would stop at it."),
    M.SERVICE_TASK: N_("Service tasks call external services, which this system does not configure."),
    M.COMPLEX_GATEWAY: N_("%(kind)s is not supported: this engine cannot run it."),
    M.AD_HOC_SUBPROCESS: N_("%(kind)s is not supported: this engine cannot run it."),
    M.FOREIGN_EXTENSION: N_("%(prefix)s:%(name)s is another engine's extension, which this engine would ignore."),
    M.FOREIGN_ATTRIBUTE: N_("%(prefix)s:%(name)s is another engine's setting, which this engine would ignore."),
    M.FOREIGN_FEATURE: N_("This element uses %(feature)s, which this engine does not run."),
    M.SCRIPT_FORMAT: N_("Scripts in %(format)s cannot run here."),
    M.SCRIPT_IGNORED: N_("The engine never runs a %(script)s on a %(kind)s: it would be ignored."),
    M.TIME_CYCLE: N_("Repeating timers (timeCycle) are never fired by this system's timer worker."),
    M.JUEL_EXPRESSION: N_("%(source)s is a JUEL expression."),
    M.TIMER_NOT_QUOTED: N_("The timer %(source)s is not quoted: it would be read as a variable name."),
    M.DEAD_END: N_("%(kind)s %(name)s has no outgoing sequence flow: the complaint would stop there."),
    M.PROCESS_NOT_EXECUTABLE: N_("The process %(process)s is not executable (isExecutable=\"false\")."),
    M.MESSAGE_NEVER_SENT: N_("This waits for the message %(message)s, which nothing in this system sends: the "
                             "complaint would wait for ever."),
    M.MESSAGE_UNNAMED: N_("This waits for a message that names no bpmn:message."),
    M.SIGNAL_NEVER_SENT: N_("This waits for the signal %(signal)s, which nothing in this system sends: the "
                            "complaint would wait for ever."),
    M.CALLED_PROCESS_MISSING: N_("This calls the process %(process)s, which is not in the bundle."),
    M.CALL_NAMES_NO_PROCESS: N_("The call activity names no process (calledElement)."),
    M.CALLED_NOT_EXECUTABLE: N_("This calls the process %(process)s (%(file)s:%(line)s), which is not executable."),
    M.CALL_CYCLE: N_("The call activity starts a cycle of processes (%(chain)s): the complaint would call "
                     "processes without end."),
    M.DMN_VERSION: N_("The DMN namespace %(namespace)s is not DMN 1.3."),
    M.DMN_NO_DECISION: N_("The DMN file holds no decision."),
    M.DMN_EXTRA_DECISION: N_("Only the first decision of a DMN file is read here; this one would be lost."),
    M.DECISION_LITERAL: N_("The decision is a literal expression; this engine evaluates decision tables only."),
    M.DECISION_NO_TABLE: N_("The decision has no table; this engine evaluates decision tables only."),
    M.HIT_POLICY_AGGREGATION: N_("The hit policy %(policy)s with the aggregation %(aggregation)s is not evaluated "
                                 "here: the engine would return the list of matches, not their aggregate."),
    M.DMN_INPUT_NO_EXPRESSION: N_("The input %(input)s has no input expression text."),
    M.DMN_FEEL_ENTRY: N_("The input entry %(entry)s is FEEL, which this engine does not evaluate."),
    M.FEEL_LITERAL: N_("%(literal)s is FEEL: as Python it names a variable that does not exist."),
}

_ONE_TOP_PROCESS = N_("Keep one top-level process (or name it %(main)s); call the others from it.")
_UNSUPPORTED = N_("Remove it or model it with supported elements.")
_SCHEMA = N_("Check this element against the BPMN/DMN 1.3 schema; this engine reads what Camunda Modeler 5 "
             "and bpmn.io write.")
_IN_A_ROLE_LANE = N_("Put it in a lane named one of: %(roles)s.")
_PYTHON = N_("This engine evaluates Python expressions, e.g. valid == True.")
_NEVER_SENT = N_("Messages sent here: %(known)s; use a user task or a timer instead.")
_QUOTED = N_("Write attribute values in double quotes: name=\"value\".")
_PROCESSES_HERE = N_("Processes in the bundle: %(processes)s.")

#: What to do about it, where there is advice.
HINTS: dict[str, str] = {
    M.DOCTYPE_NOT_ALLOWED: N_("Remove the <!DOCTYPE …> block; BPMN and DMN files never need one."),
    M.NOT_XML: N_("Save it from the modeller as .bpmn or .dmn (XML, UTF-8)."),
    M.XML_TAG_MISMATCH: N_("Close each element with its own end tag, the innermost first."),
    M.XML_NOT_CLOSED: N_("The file may be cut off: save it again from the modeller."),
    M.XML_EXTRA_CONTENT: N_("A model file holds one <definitions> element: remove what follows its end tag."),
    M.XML_ATTRIBUTE_NOT_QUOTED: _QUOTED,
    M.XML_UNESCAPED: N_("Write < as &lt; and & as &amp;, in conditions and scripts too."),
    M.XML_UNDEFINED_ENTITY: N_("Write the character itself, or a numeric reference such as &#160;."),
    M.XML_UNDEFINED_PREFIX: N_("Declare it on the root element (xmlns:%(prefix)s=\"…\") or remove what uses it."),
    M.XML_DUPLICATE_ATTRIBUTE: N_("Keep one of them."),
    M.XML_NOT_UTF8: N_("Save it as UTF-8 (a model with Chinese names saved as GBK is read wrongly)."),
    M.XML_EMPTY: N_("Save it from the modeller as .bpmn or .dmn (XML, UTF-8)."),
    M.XML_INVALID_CHAR: N_("Remove the character; text pasted from another program may carry one."),
    M.XML_ATTRIBUTE_NO_VALUE: _QUOTED,
    M.XML_TAG_NOT_FINISHED: N_("End each start tag with > and put a space between attributes: "
                               "<task id=\"a\" name=\"b\">."),
    M.XML_COMMENT: N_("Close each comment <!-- … --> and write no -- inside it."),
    M.XML_DECLARATION_NOT_FIRST: N_("Remove what stands before <?xml …?>, or remove a second declaration."),
    M.MALFORMED_XML: N_("Open the file in a text editor at that place, or save it again from the modeller."),
    M.MARKUP_INSTRUCTION: N_("Remove it; model files are data, never styled or transformed."),
    M.MARKUP_ELEMENT: N_("Remove it; documentation is plain text (bpmn:documentation)."),
    M.MARKUP_ATTRIBUTE: N_("Remove the attribute."),
    M.PROCESS_NOT_IN_BUNDLE: _PROCESSES_HERE,
    M.NO_PROCESS: N_("Add a bpmn:process with isExecutable=\"true\"."),
    M.SEVERAL_PROCESSES: _ONE_TOP_PROCESS,
    M.NO_TEST_CASES: N_("Keep the tests/*.json files of the process with it: a process that runs already is only "
                        "replaced by a tested version."),
    M.FORM_PATTERN_PROPERTIES: N_("Name each field in properties."),
    M.SPIFF_NO_START_EVENT: N_("Add a start event to the process."),
    M.SPIFF_FLOW_NO_CONDITION: N_("Give the flow a condition, or make it the gateway's default flow."),
    M.SPIFF_DUPLICATE_PROCESS: N_("Give each process of the bundle its own id."),
    M.SPIFF_TIMER_INVALID: N_("Use an ISO 8601 duration such as \"P3D\" or a date, quoted, or a model function "
                              "such as deadline(…)."),
    M.SPIFF_MULTIPLE_OUTGOING: N_("Let the task lead to one gateway (exclusive, inclusive or parallel) and branch "
                                  "there."),
    M.SPIFF_SCHEMA: N_("The file does not follow the BPMN/DMN 1.3 schema here; open and save it in Camunda "
                       "Modeler 5 or bpmn.io."),
    M.SPIFF_REFUSED: _SCHEMA,
    M.SPIFF_TASK_TYPE: _UNSUPPORTED,
    M.MISSING_REFERENCE: _SCHEMA,
    M.MISSING_ELEMENT: _SCHEMA,
    M.UNREADABLE_ELEMENT: _SCHEMA,
    M.EXPRESSION_FEEL: _PYTHON,
    M.UNKNOWN_FUNCTION: N_("Functions available: %(functions)s and Python's len, min, max, round, str, int, "
                           "float, sum, sorted, any, all."),
    M.FEEL_CONDITION: N_("Write the condition as a Python expression."),
    M.NO_DECISION_NAMED: N_("Add spiffworkflow:calledDecisionId."),
    M.DECISION_NOT_IN_BUNDLE: N_("Known decisions: %(decisions)s."),
    M.LANE_NOT_A_ROLE: _IN_A_ROLE_LANE,
    M.NOT_IN_A_LANE: _IN_A_ROLE_LANE,
    M.UNTIMED_NEEDS_REASON: N_("Say why this step has no time limit."),
    M.ROUTES_TO_UNKNOWN_DEPARTMENT: N_("Departments: %(departments)s. Ask the administrator to add a new one "
                                       "first (Administration, Departments)."),
    M.ROUTES_TO_INACTIVE_DEPARTMENT: N_("Route to an active department, or ask the administrator to reactivate "
                                        "this one."),
    M.NO_TIME_LIMIT: N_("Attach a timer boundary event with the property sla = \"deadline\", or give the task the "
                        "property untimed = \"<why it has no limit>\"."),
    M.ELEMENT_NOT_RUN: _UNSUPPORTED,
    M.UNTYPED_TASK: N_("Make it a user task in a role lane (people do it) or a script task (the engine does it)."),
    M.SERVICE_TASK: N_("Use a script task (Python) or a user task."),
    M.COMPLEX_GATEWAY: N_("Use an exclusive or inclusive gateway with a condition on each outgoing flow."),
    M.AD_HOC_SUBPROCESS: N_("Model the tasks with a parallel or inclusive gateway."),
    M.FOREIGN_EXTENSION: N_("Remove it: data goes in task data (scripts or forms), multi-instance reads "
                            "spiffworkflow's loopDataInputRef/inputDataItem, forms are JSON Schema files."),
    M.FOREIGN_ATTRIBUTE: N_("Remove the attribute; this engine reads BPMN and spiffworkflow extensions only: code "
                            "is a Python script task, a multi-instance collection is a bpmn:loopDataInputRef, "
                            "results go to task data."),
    M.FOREIGN_FEATURE: N_("Remove it; forms are JSON Schema files (formJsonSchemaFilename), code is a Python script "
                          "task, decisions are business rule tasks with calledDecisionId."),
    M.SCRIPT_FORMAT: N_("Write the script in Python (scriptFormat=\"python\")."),
    M.SCRIPT_IGNORED: N_("Put it in a script task before or after this element: a preScript or postScript "
                         "runs only on tasks (user, manual, business rule, send, receive), call activities and "
                         "subprocesses."),
    M.TIME_CYCLE: N_("Use a timeDuration (once, after a while) or a timeDate."),
    M.JUEL_EXPRESSION: N_("Write a Python expression, e.g. approved == True."),
    M.TIMER_NOT_QUOTED: N_("Write it as a Python string: \"%(source)s\" (or name a variable holding it)."),
    M.DEAD_END: N_("Connect it to the next element (an end event when the process ends there)."),
    M.PROCESS_NOT_EXECUTABLE: N_("Set isExecutable=\"true\" on the process this system should run."),
    M.MESSAGE_NEVER_SENT: _NEVER_SENT,
    M.MESSAGE_UNNAMED: _NEVER_SENT,
    M.SIGNAL_NEVER_SENT: N_("Throw the signal in the model, or use a user task or a timer instead."),
    M.CALLED_PROCESS_MISSING: _PROCESSES_HERE,
    M.CALL_NAMES_NO_PROCESS: _PROCESSES_HERE,
    M.CALLED_NOT_EXECUTABLE: N_("Set isExecutable=\"true\" on that process."),
    M.CALL_CYCLE: N_("A process may not call itself, directly or through others; use a loop (a gateway back to an "
                     "earlier task) instead."),
    M.DMN_VERSION: N_("Save the file as DMN 1.3 (Camunda Modeler 5 and dmn-js do)."),
    M.DMN_NO_DECISION: N_("Add a decision with a decision table, or remove the file."),
    M.DMN_EXTRA_DECISION: N_("Put each decision in a file of its own."),
    M.DECISION_LITERAL: N_("Write it as a decision table (inputs, outputs, rules)."),
    M.DECISION_NO_TABLE: N_("Write it as a decision table (inputs, outputs, rules)."),
    M.HIT_POLICY_AGGREGATION: N_("Drop the aggregation and compute it in a script task after the decision."),
    M.DMN_INPUT_NO_EXPRESSION: N_("Name the variable it reads, e.g. <inputExpression><text>level</text>"
                                  "</inputExpression>."),
    M.DMN_FEEL_ENTRY: N_("Write %(python)s (? is the input value)."),
    M.FEEL_LITERAL: N_("Write %(python)s."),
}

#: The kinds of expression and script a problem names (`what`), as people say them.
WHAT: dict[str, str] = {
    "condition": N_("condition"), "timeDuration": N_("timer duration"), "timeDate": N_("timer date"),
    "timeCycle": N_("timer cycle"), "loopCardinality": N_("number of repetitions"),
    "completionCondition": N_("completion condition"), "loopCondition": N_("loop condition"),
    "script": N_("script"), "preScript": N_("pre-script"), "postScript": N_("post-script"),
    "dmn_input_expression": N_("DMN input expression"), "dmn_input_entry": N_("DMN input entry"),
    "dmn_output_entry": N_("DMN output entry"),
}
#: The Camunda and Zeebe features a model uses (`feature`), as people say them.
FEATURES: dict[str, str] = {
    "class": N_("a Java class"), "delegateExpression": N_("a Java delegate"), "expression": N_("a JUEL expression"),
    "formKey": N_("a Camunda form"), "formRef": N_("a Camunda form"), "topic": N_("an external task topic"),
    "resultVariable": N_("a Camunda result variable"), "decisionRef": N_("a Camunda decision reference"),
    "formData": N_("a Camunda form"), "executionListener": N_("a Camunda execution listener"),
    "taskListener": N_("a Camunda task listener"), "connector": N_("a Camunda connector"),
    "taskDefinition": N_("a Zeebe job worker"), "formDefinition": N_("a Zeebe form"),
    "calledDecision": N_("a Zeebe decision"),
}
#: JSON Schema's type names (`expected`, comma-separated), as people say them.
JSON_TYPES: dict[str, str] = {
    "object": N_("an object"), "array": N_("a list"), "string": N_("a text"), "number": N_("a number"),
    "integer": N_("a whole number"), "boolean": N_("yes or no"), "null": N_("null"),
}
