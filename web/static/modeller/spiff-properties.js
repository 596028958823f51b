// Properties panel entries for what this system reads from a BPMN model: the lane (role) of a task,
// its form files and instructions (zh + en), conditions, scripts, decisions, message variables and
// the `sla` property of boundary timers. Values live in the spiffworkflow extension elements.
import htm from "htm";
import { h } from "@bpmn-io/properties-panel/preact";
import {
  Group, SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

const html = htm.bind(h);
const FORM = "formJsonSchemaFilename";
const UI = "formUiSchemaFilename";

// --- reading and writing extension elements (every change through modeling, so it can be undone) ---

function extensionOf(bo, type) {
  const extensions = bo.get("extensionElements");
  return extensions ? extensions.get("values").find((v) => is(v, type)) : undefined;
}

function ensureExtensions(element, bo, services) {
  let extensions = bo.get("extensionElements");
  if (!extensions) {
    extensions = services.bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    services.modeling.updateModdleProperties(element, bo, { extensionElements: extensions });
  }
  return extensions;
}

// `item` of `owner`'s list `key` given `value`: removed when the value is empty, changed when it exists.
// False when there is no item yet to change: the caller creates one (`appendTo`).
function updated(element, owner, key, item, value, services) {
  if (value && !item) return false;
  if (!value && item) {
    services.modeling.updateModdleProperties(element, owner, { [key]: owner.get(key).filter((v) => v !== item) });
  } else if (item) {
    services.modeling.updateModdleProperties(element, item, { value });
  }
  return true;
}

function appendTo(element, owner, key, item, services) {
  item.$parent = owner;
  services.modeling.updateModdleProperties(element, owner, { [key]: [...owner.get(key), item] });
}

function setExtensionText(element, bo, type, value, services) {
  if (updated(element, bo.get("extensionElements"), "values", extensionOf(bo, type), value, services)) return;
  appendTo(element, ensureExtensions(element, bo, services), "values",
    services.bpmnFactory.create(type, { value }), services);
}

function getProperty(bo, name) {
  const properties = extensionOf(bo, "spiffworkflow:Properties");
  const found = properties && properties.get("properties").find((p) => p.name === name);
  return found ? found.value || "" : "";
}

function setProperty(element, bo, name, value, services) {
  let properties = extensionOf(bo, "spiffworkflow:Properties");
  const found = properties && properties.get("properties").find((p) => p.name === name);
  if (updated(element, properties, "properties", found, value, services)) return;
  if (!properties) {
    properties = services.bpmnFactory.create("spiffworkflow:Properties", { properties: [] });
    appendTo(element, ensureExtensions(element, bo, services), "values", properties, services);
  }
  appendTo(element, properties, "properties",
    services.bpmnFactory.create("spiffworkflow:Property", { name, value }), services);
}

function useServices() {
  return {
    modeling: useService("modeling"),
    bpmnFactory: useService("bpmnFactory"),
    debounce: useService("debounceInput"),
  };
}

// --- generic entry components ---------------------------------------------------------------------

function TextEntry(props) {
  const { element, id, label, get, set, area, description } = props;
  const services = useServices();
  const Entry = area ? TextAreaEntry : TextFieldEntry;
  return html`<${Entry} id=${id} element=${element} label=${label} description=${description}
    getValue=${() => get(element)} setValue=${(value) => set(element, value, services)}
    debounce=${services.debounce} rows=${area ? 5 : undefined} monospace=${props.monospace} />`;
}

function ChoiceEntry(props) {
  const { element, id, label, get, set, choices } = props;
  const services = useServices();
  return html`<${SelectEntry} id=${id} element=${element} label=${label}
    getValue=${() => get(element)} setValue=${(value) => set(element, value, services)}
    getOptions=${() => choices(element)} />`;
}

function text(config, key) {
  return (config.text && config.text[key]) || key;
}

function entry(element, id, options) {
  const isEdited = options.choices ? isSelectEntryEdited : options.area ? isTextAreaEntryEdited : isTextFieldEntryEdited;
  return { id, element, isEdited, component: options.choices ? ChoiceEntry : TextEntry, ...options };
}

function group(id, label, entries) {
  return { id, label, component: Group, entries };
}

// --- the groups ------------------------------------------------------------------------------------

function laneGroup(element, config, canvas, modeling) {
  if (is(element, "bpmn:Lane")) {
    return group("spiff-lane", text(config, "Role"), [entry(element, "spiff-lane-role", {
      label: text(config, "Lane role"),
      get: (el) => getBusinessObject(el).name || "",
      set: (el, value, services) => services.modeling.updateLabel(el, value),
      choices: () => [{ value: "", label: "—" }, ...config.roles.map((r) => ({ value: r, label: r }))],
    })]);
  }
  if (!is(element, "bpmn:FlowNode") || is(element, "bpmn:BoundaryEvent")) return null;
  const lanesOf = (shape) => {
    if (is(shape, "bpmn:Lane")) return [shape, ...(shape.children || []).flatMap(lanesOf)];
    return is(shape, "bpmn:Participant") ? (shape.children || []).flatMap(lanesOf) : [];
  };
  // Only innermost lanes hold tasks.
  const lanes = canvas.getRootElement().children.flatMap(lanesOf)
    .filter((lane) => !(lane.children || []).some((c) => is(c, "bpmn:Lane")));
  if (!lanes.length) return null;
  const laneOf = (el) => lanes.find((lane) => (getBusinessObject(lane).flowNodeRef || []).includes(getBusinessObject(el)));
  return group("spiff-lane", text(config, "Role"), [entry(element, "spiff-lane", {
    label: text(config, "Lane (who does it)"),
    get: (el) => { const lane = laneOf(el); return lane ? lane.id : ""; },
    // Moving the shape into the lane lets bpmn-js update the lane's flowNodeRef list itself.
    set: (el, laneId) => {
      const lane = lanes.find((l) => l.id === laneId);
      if (!lane) return;
      const dy = lane.y + lane.height / 2 - (el.y + el.height / 2);
      modeling.moveShape(el, { x: 0, y: dy }, lane);
    },
    choices: () => lanes.map((lane) => ({ value: lane.id, label: getBusinessObject(lane).name || lane.id })),
  })]);
}

function formGroup(element, config) {
  if (!is(element, "bpmn:UserTask") && !is(element, "bpmn:ManualTask") && !is(element, "bpmn:StartEvent")) return null;
  const files = (suffix) => () => [{ value: "", label: text(config, "(none)") },
    ...config.formFiles.filter((f) => f.endsWith(suffix)).map((f) => ({ value: f, label: f }))];
  const prop = (name) => ({
    get: (el) => getProperty(getBusinessObject(el), name),
    set: (el, value, services) => setProperty(el, getBusinessObject(el), name, value, services),
  });
  const instructions = {
    get: (el) => { const found = extensionOf(getBusinessObject(el), "spiffworkflow:InstructionsForEndUser"); return found ? found.value || "" : ""; },
    set: (el, value, services) => setExtensionText(el, getBusinessObject(el), "spiffworkflow:InstructionsForEndUser", value, services),
  };
  return group("spiff-form", text(config, "Form and instructions"), [
    entry(element, "spiff-form-schema", { label: text(config, "Form (JSON Schema file)"), choices: files(".schema.json"), ...prop(FORM) }),
    entry(element, "spiff-form-ui", { label: text(config, "UI schema file"), choices: files(".uischema.json"), ...prop(UI) }),
    entry(element, "spiff-title-en", { label: text(config, "Title (English)"), ...prop("title_en") }),
    entry(element, "spiff-instructions", { label: text(config, "Instructions (Chinese)"), area: true, ...instructions }),
    entry(element, "spiff-instructions-en", { label: text(config, "Instructions (English)"), area: true, ...prop("instructions_en") }),
  ]);
}

function conditionGroup(element, config) {
  if (!is(element, "bpmn:SequenceFlow")) return null;
  const source = getBusinessObject(element).sourceRef;
  if (!source || !(is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway"))) return null;
  return group("spiff-condition", text(config, "Condition"), [entry(element, "spiff-condition", {
    label: text(config, "Condition (Python expression)"), area: true, monospace: true,
    description: text(config, "e.g. category == \"counterfeit\"; leave empty on the default flow"),
    get: (el) => { const c = getBusinessObject(el).conditionExpression; return c ? c.body || "" : ""; },
    set: (el, value, services) => {
      const expression = value ? services.bpmnFactory.create("bpmn:FormalExpression", { body: value }) : undefined;
      services.modeling.updateProperties(el, { conditionExpression: expression });
    },
  })]);
}

function scriptGroup(element, config) {
  const bo = getBusinessObject(element);
  const entries = [];
  if (is(element, "bpmn:ScriptTask")) {
    entries.push(entry(element, "spiff-script", {
      label: text(config, "Script (Python)"), area: true, monospace: true,
      get: (el) => getBusinessObject(el).script || "",
      set: (el, value, services) => services.modeling.updateProperties(el, { script: value, scriptFormat: "python" }),
    }));
  }
  if (is(element, "bpmn:Task")) {
    for (const [type, key] of [["spiffworkflow:PreScript", "Pre-script (Python)"], ["spiffworkflow:PostScript", "Post-script (Python)"]]) {
      entries.push(entry(element, `spiff-${type.split(":")[1]}`, {
        label: text(config, key), area: true, monospace: true,
        get: (el) => { const found = extensionOf(getBusinessObject(el), type); return found ? found.value || "" : ""; },
        set: (el, value, services) => setExtensionText(el, getBusinessObject(el), type, value, services),
      }));
    }
  }
  if (is(element, "bpmn:BusinessRuleTask")) {
    entries.push(entry(element, "spiff-decision", {
      label: text(config, "Decision table"),
      choices: () => [{ value: "", label: text(config, "(none)") }, ...config.decisions.map((d) => ({ value: d, label: d }))],
      get: (el) => { const found = extensionOf(getBusinessObject(el), "spiffworkflow:CalledDecisionId"); return found ? found.value || "" : ""; },
      set: (el, value, services) => setExtensionText(el, getBusinessObject(el), "spiffworkflow:CalledDecisionId", value, services),
    }));
  }
  const message = (bo.eventDefinitions || []).find((d) => is(d, "bpmn:MessageEventDefinition"));
  if (message && (is(element, "bpmn:CatchEvent"))) {
    entries.push(entry(element, "spiff-message-variable", {
      label: text(config, "Message variable"),
      get: () => { const found = extensionOf(message, "spiffworkflow:MessageVariable"); return found ? found.value || "" : ""; },
      set: (el, value, services) => setExtensionText(el, message, "spiffworkflow:MessageVariable", value, services),
    }));
  }
  return entries.length ? group("spiff-scripts", text(config, "Scripts and decisions"), entries) : null;
}

function slaGroup(element, config) {
  if (!is(element, "bpmn:BoundaryEvent")) return null;
  const timer = (getBusinessObject(element).eventDefinitions || []).find((d) => is(d, "bpmn:TimerEventDefinition"));
  if (!timer) return null;
  return group("spiff-sla", text(config, "Deadline"), [entry(element, "spiff-sla", {
    label: text(config, "What the timer means (sla)"),
    description: text(config, "Timer values are Python: quote durations, e.g. \"PT30M\", or name a policy variable such as sla_handover"),
    choices: () => [
      { value: "", label: text(config, "(a plain timer)") },
      { value: "warning", label: text(config, "warning: notify the holder") },
      { value: "deadline", label: text(config, "deadline: penalty and escalation") },
    ],
    get: (el) => getProperty(getBusinessObject(el), "sla"),
    set: (el, value, services) => setProperty(el, getBusinessObject(el), "sla", value, services),
  })]);
}

/** Adds this system's groups after the standard ones. */
export default function SpiffPropertiesProvider(propertiesPanel, canvas, modeling, config) {
  const settings = config.spiff || { roles: [], formFiles: [], decisions: [], text: {} };
  this.getGroups = function (element) {
    return function (groups) {
      const ours = [
        laneGroup(element, settings, canvas, modeling), formGroup(element, settings),
        conditionGroup(element, settings), scriptGroup(element, settings), slaGroup(element, settings),
      ].filter(Boolean);
      return [...groups.slice(0, 1), ...ours, ...groups.slice(1)];
    };
  };
  propertiesPanel.registerProvider(500, this);
}
SpiffPropertiesProvider.$inject = ["propertiesPanel", "canvas", "modeling", "config"];
