"""The words of the browser modeller (its own, and bpmn-js's and the properties panel's) in the page language,
handed to its script."""
from __future__ import annotations

from flask_babel import gettext as _


def modeller_text() -> dict[str, str]:
    """The words the modeller's script shows, in the page language."""
    return {
        "Role": _("Role"), "Lane role": _("Lane role"), "Lane (who does it)": _("Lane (who does it)"),
        "(none)": _("(none)"), "Form and instructions": _("Form and instructions"),
        "Form (JSON Schema file)": _("Form (JSON Schema file)"), "UI schema file": _("UI schema file"),
        "Title (English)": _("Title (English)"), "Instructions (Chinese)": _("Instructions (Chinese)"),
        "Instructions (English)": _("Instructions (English)"), "Condition": _("Condition"),
        "Condition (Python expression)": _("Condition (Python expression)"),
        'e.g. category == "counterfeit"; leave empty on the default flow':
            _('e.g. category == "counterfeit"; leave empty on the default flow'),
        "Script (Python)": _("Script (Python)"), "Pre-script (Python)": _("Pre-script (Python)"),
        "Post-script (Python)": _("Post-script (Python)"), "Decision table": _("Decision table"),
        "Message variable": _("Message variable"), "Scripts and decisions": _("Scripts and decisions"),
        "Deadline": _("Deadline"), "What the timer means (sla)": _("What the timer means (sla)"),
        'Timer values are Python: quote durations, e.g. "PT30M", or name a policy variable such as sla_handover':
            _('Timer values are Python: quote durations, e.g. "PT30M", or name a policy variable such as '
              'sla_handover'),
        "(a plain timer)": _("(a plain timer)"), "warning: notify the holder": _("warning: notify the holder"),
        "deadline: penalty and escalation": _("deadline: penalty and escalation"),
        "The diagram could not be opened:": _("The diagram could not be opened:"),
        "The decision table could not be opened:": _("The decision table could not be opened:"),
        "Name of the new form (e.g. legal_review):": _("Name of the new form (e.g. legal_review):"),
        "Hint:": _("Hint:"), "Technical detail": _("Technical detail"),
        "The model cannot be deployed:": _("The model cannot be deployed:"),
        "The model is valid.": _("The model is valid."), "Some test cases failed:": _("Some test cases failed:"),
        "All test cases passed.": _("All test cases passed."), "Draft saved.": _("Draft saved."),
        "Validating…": _("Validating…"), "Running the test cases…": _("Running the test cases…"),
        "Deploy this draft? New complaints will start on it.":
            _("Deploy this draft? New complaints will start on it."),
        "Deploying…": _("Deploying…"),
    }


def panel_text() -> dict[str, str]:
    """bpmn-js's and the properties panel's own words (palette, context pad, panel groups and fields) for the
    elements this engine runs, in the page language: the modeller's `translate` service reads them."""
    return {
        "General": _("General"),
        "Name": _("Name"),
        "ID": _("ID"),
        "Documentation": _("Documentation"),
        "Element documentation": _("Element documentation"),
        "Process documentation": _("Process documentation"),
        "Executable": _("Executable"),
        "Version tag": _("Version tag"),
        "Process ID": _("Process ID"),
        "Process name": _("Process name"),
        "Timer": _("Timer"),
        "Type": _("Type"),
        "Value": _("Value"),
        "Date": _("Date"),
        "Duration": _("Duration"),
        "Cycle": _("Cycle"),
        "Message": _("Message"),
        "Global message reference": _("Global message reference"),
        "Signal": _("Signal"),
        "Global signal reference": _("Global signal reference"),
        "Multi-instance": _("Multi-instance"),
        "Loop cardinality": _("Loop cardinality"),
        "Completion condition": _("Completion condition"),
        "Condition expression": _("Condition expression"),
        "Activate hand tool": _("Activate hand tool"),
        "Activate lasso tool": _("Activate lasso tool"),
        "Activate create/remove space tool": _("Activate create/remove space tool"),
        "Activate global connect tool": _("Activate global connect tool"),
        "Create start event": _("Create start event"),
        "Create end event": _("Create end event"),
        "Create intermediate/boundary event": _("Create intermediate/boundary event"),
        "Create gateway": _("Create gateway"),
        "Create task": _("Create task"),
        "Create expanded sub-process": _("Create expanded sub-process"),
        "Create data object reference": _("Create data object reference"),
        "Create data store reference": _("Create data store reference"),
        "Create pool/participant": _("Create pool/participant"),
        "Create group": _("Create group"),
        "Append task": _("Append task"),
        "Append end event": _("Append end event"),
        "Append gateway": _("Append gateway"),
        "Append intermediate/boundary event": _("Append intermediate/boundary event"),
        "Append receive task": _("Append receive task"),
        "Append message intermediate catch event": _("Append message intermediate catch event"),
        "Append timer intermediate catch event": _("Append timer intermediate catch event"),
        "Append signal intermediate catch event": _("Append signal intermediate catch event"),
        "Append conditional intermediate catch event": _("Append conditional intermediate catch event"),
        "Append compensation activity": _("Append compensation activity"),
        "Add text annotation": _("Add text annotation"),
        "Add lane above": _("Add lane above"),
        "Add lane below": _("Add lane below"),
        "Divide into two lanes": _("Divide into two lanes"),
        "Divide into three lanes": _("Divide into three lanes"),
        "Change element": _("Change element"),
        "Connect to other element": _("Connect to other element"),
        "Connect using association": _("Connect using association"),
        "Connect using data input association": _("Connect using data input association"),
        "Delete": _("Delete"),
    }
