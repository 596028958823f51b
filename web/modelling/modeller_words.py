"""The words of the browser modeller (its own, and bpmn-js's and the properties panel's) in the page language,
handed to its script: each English text, the key the script looks it up by, and its translation."""
from __future__ import annotations

from flask_babel import gettext as _

from web.mail import N_

#: The words the modeller's script shows.
MODELLER_WORDS = (
    N_("Role"), N_("Lane role"), N_("Lane (who does it)"), N_("(none)"), N_("Form and instructions"),
    N_("Form (JSON Schema file)"), N_("UI schema file"), N_("Title (English)"), N_("Instructions (Chinese)"),
    N_("Instructions (English)"), N_("Condition"), N_("Condition (Python expression)"),
    N_('e.g. category == "counterfeit"; leave empty on the default flow'), N_("Script (Python)"),
    N_("Pre-script (Python)"), N_("Post-script (Python)"), N_("Decision table"), N_("Message variable"),
    N_("Scripts and decisions"), N_("Deadline"), N_("What the timer means (sla)"),
    N_('Timer values are Python: quote durations, e.g. "PT30M", or name a policy variable such as sla_handover'),
    N_("(a plain timer)"), N_("warning: notify the holder"), N_("deadline: penalty and escalation"),
    N_("The diagram could not be opened:"), N_("The decision table could not be opened:"),
    N_("Name of the new form (e.g. legal_review):"), N_("Hint:"), N_("Technical detail"),
    N_("The model cannot be deployed:"), N_("The model is valid."), N_("Some test cases failed:"),
    N_("All test cases passed."), N_("Draft saved."), N_("Validating…"), N_("Running the test cases…"),
    N_("Deploy this draft? New complaints will start on it."), N_("Deploying…"),
)
#: bpmn-js's and the properties panel's own words (palette, context pad, panel groups and fields) for the elements
#: this engine runs: the modeller's `translate` service reads them.
PANEL_WORDS = (
    N_("General"), N_("Name"), N_("ID"), N_("Documentation"), N_("Element documentation"), N_("Process documentation"),
    N_("Executable"), N_("Version tag"), N_("Process ID"), N_("Process name"), N_("Timer"), N_("Type"), N_("Value"),
    N_("Date"), N_("Duration"), N_("Cycle"), N_("Message"), N_("Global message reference"), N_("Signal"),
    N_("Global signal reference"), N_("Multi-instance"), N_("Loop cardinality"), N_("Completion condition"),
    N_("Condition expression"), N_("Activate hand tool"), N_("Activate lasso tool"),
    N_("Activate create/remove space tool"), N_("Activate global connect tool"), N_("Create start event"),
    N_("Create end event"), N_("Create intermediate/boundary event"), N_("Create gateway"), N_("Create task"),
    N_("Create expanded sub-process"), N_("Create data object reference"), N_("Create data store reference"),
    N_("Create pool/participant"), N_("Create group"), N_("Append task"), N_("Append end event"), N_("Append gateway"),
    N_("Append intermediate/boundary event"), N_("Append receive task"), N_("Append message intermediate catch event"),
    N_("Append timer intermediate catch event"), N_("Append signal intermediate catch event"),
    N_("Append conditional intermediate catch event"), N_("Append compensation activity"), N_("Add text annotation"),
    N_("Add lane above"), N_("Add lane below"), N_("Divide into two lanes"), N_("Divide into three lanes"),
    N_("Change element"), N_("Connect to other element"), N_("Connect using association"),
    N_("Connect using data input association"), N_("Delete"),
)


def modeller_text() -> dict[str, str]:
    """The words the modeller's script shows, in the page language."""
    return {text: _(text) for text in MODELLER_WORDS}


def panel_text() -> dict[str, str]:
    """bpmn-js's and the properties panel's words, in the page language."""
    return {text: _(text) for text in PANEL_WORDS}
