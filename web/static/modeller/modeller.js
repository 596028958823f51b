// The model editor page: a BPMN modeller with this system's properties, the decision tables (dmn-js),
// the forms (JSON Schema + UI schema text with a preview drawn by the server's own form renderer), and
// save / validate / run tests / deploy through the draft's endpoints. Bundled by esbuild (see Makefile).
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import spiffModdle from "./spiffworkflow.json";
import SpiffPropertiesProvider from "./spiff-properties.js";

const SpiffPropertiesModule = {
  __init__: ["spiffPropertiesProvider"],
  spiffPropertiesProvider: ["type", SpiffPropertiesProvider],
};

// bpmn-js's `translate` service, answering from the page language's words (cfg.panel, web/modelling.py):
// the palette, the context pad and the properties panel speak the page's language like the rest of the page.
function translations(words) {
  return function translate(template, replacements) {
    const values = replacements || {};
    return (words[template] || template).replace(/{([^}]+)}/g, (all, key) => (key in values ? values[key] : all));
  };
}

function start() {
  const root = document.getElementById("modeller");
  if (!root) return;
  const cfg = JSON.parse(document.getElementById("modeller-config").textContent);
  const t = (key) => cfg.text[key] || key;
  const contents = {};   // path → text as last loaded or edited here
  const edited = new Set();
  let bpmnPath = cfg.bpmnFiles[0] || null;
  let dmnPath = null;
  let dmn = null;
  let formPath = null;

  const modeler = new BpmnModeler({
    container: "#bpmn-canvas",
    propertiesPanel: { parent: "#bpmn-properties" },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, SpiffPropertiesModule,
      { translate: ["value", translations(cfg.panel || {})] }],
    moddleExtensions: { spiffworkflow: spiffModdle },
    spiff: { roles: cfg.roles, formFiles: cfg.formFiles, decisions: cfg.decisions, text: cfg.text },
  });
  window.modeler = modeler;  // the browser test (and a curious process owner) can script the modeller
  modeler.on("commandStack.changed", () => { if (bpmnPath) edited.add(bpmnPath); });

  // --- talking to the server ----------------------------------------------------------------------

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf },
      body: JSON.stringify(body || {}),
    }).then((response) => response.json().catch(() => ({ error: response.statusText }))
      .then((data) => { if (!response.ok && !data.problems && !data.results) throw new Error(data.error || response.status); return data; }));
  }

  function load(path) {
    if (path in contents) return Promise.resolve(contents[path]);
    return fetch(cfg.urls.file + path.split("/").map(encodeURIComponent).join("/"), { credentials: "same-origin" })
      .then((response) => { if (!response.ok) throw new Error(response.status); return response.text(); })
      .then((text) => { contents[path] = text; return text; });
  }

  const status = document.getElementById("modeller-status");
  function say(message, kind) {
    status.textContent = message;
    status.className = "modeller-status " + (kind || "");
  }

  // --- BPMN ---------------------------------------------------------------------------------------

  let bpmnTicket = 0;
  function openBpmn(path) {
    if (!path) return Promise.resolve();
    const ticket = ++bpmnTicket;
    return collect().then(() => load(path)).then((xml) => {
      if (ticket !== bpmnTicket) throw new Error("superseded");
      bpmnPath = null;  // what the modeller shows is not that file until the import is done
      return modeler.importXML(xml);
    }).then(() => {
      bpmnPath = path;
      document.getElementById("bpmn-file").value = path;
      modeler.get("canvas").zoom("fit-viewport");
      root.dataset.ready = "1";
    }).catch((err) => {
      if (err.message !== "superseded") say(t("The diagram could not be opened:") + " " + err.message, "bad");
    });
  }

  // --- DMN ----------------------------------------------------------------------------------------

  let dmnTicket = 0;
  function openDmn(path) {
    if (!path || typeof DmnJS === "undefined") return Promise.resolve();
    const ticket = ++dmnTicket;
    if (!dmn) {
      dmn = new DmnJS({ container: "#dmn-canvas", common: { keyboard: { bindTo: window } } });
    }
    return collect().then(() => load(path)).then((xml) => {
      if (ticket !== dmnTicket) throw new Error("superseded");
      dmnPath = null;
      return dmn.importXML(xml);
    }).then(() => {
      dmnPath = path;
      const table = dmn.getViews().find((view) => view.type === "decisionTable");
      if (table) return dmn.open(table);
      return null;
    }).then(() => {
      dmn.getActiveViewer().on("elements.changed", () => edited.add(dmnPath));
      document.getElementById("dmn-file").value = path;
    }).catch((err) => {
      if (err.message !== "superseded") say(t("The decision table could not be opened:") + " " + err.message, "bad");
    });
  }

  // --- forms --------------------------------------------------------------------------------------

  const schemaBox = document.getElementById("form-schema");
  const uiBox = document.getElementById("form-ui");
  const preview = document.getElementById("form-preview");
  let previewTimer = null;

  function uiPathFor(path) { return path.replace(/\.schema\.json$/, ".uischema.json"); }

  let formTicket = 0;
  function openForm(path) {
    if (!path) return Promise.resolve();
    // Files load asynchronously: only the form asked for last may fill the editor.
    const ticket = ++formTicket;
    return collectForm().then(() => Promise.all([load(path), load(uiPathFor(path)).catch(() => "{}")]))
      .then(([schema, ui]) => {
        if (ticket !== formTicket) return;
        formPath = path;
        schemaBox.value = schema;
        uiBox.value = ui;
        document.getElementById("form-file").value = path;
        showPreview();
      });
  }

  function collectForm() {
    if (!formPath) return Promise.resolve();
    if (schemaBox.value !== contents[formPath]) { contents[formPath] = schemaBox.value; edited.add(formPath); }
    const ui = uiPathFor(formPath);
    if (uiBox.value.trim() && uiBox.value !== (contents[ui] || "{}")) { contents[ui] = uiBox.value; edited.add(ui); }
    return Promise.resolve();
  }

  function showPreview() {
    post(cfg.urls.preview, { schema: schemaBox.value, ui: uiBox.value || "{}" })
      .then((data) => {
        preview.innerHTML = data.html || "";
        if (data.error) preview.textContent = data.error;
      })
      .catch((err) => { preview.textContent = err.message; });
  }
  [schemaBox, uiBox].forEach((box) => box.addEventListener("input", () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(showPreview, 400);
  }));

  document.getElementById("form-new").addEventListener("click", () => {
    const name = (window.prompt(t("Name of the new form (e.g. legal_review):")) || "").trim();
    if (!/^[A-Za-z0-9_-]+$/.test(name)) return;
    const path = "forms/" + name + ".schema.json";
    contents[path] = JSON.stringify({ type: "object", title: name, properties: {}, required: [] }, null, 2);
    contents[uiPathFor(path)] = "{}";
    edited.add(path);
    addOption("form-file", path);
    if (!cfg.formFiles.includes(path)) cfg.formFiles.push(path, uiPathFor(path));
    openForm(path);
  });

  document.querySelectorAll("[data-task-preview]").forEach((button) => button.addEventListener("click", () => {
    save().then(() => fetch(button.dataset.taskPreview, { credentials: "same-origin" }))
      .then((response) => response.json())
      .then((data) => { preview.innerHTML = data.html || ""; if (data.error) preview.textContent = data.error; });
  }));

  function addOption(selectId, value) {
    const select = document.getElementById(selectId);
    if ([...select.options].some((o) => o.value === value)) return;
    const option = document.createElement("option");
    option.value = option.textContent = value;
    select.appendChild(option);
  }

  // --- save, validate, test, deploy ---------------------------------------------------------------

  function collect() {
    const jobs = [collectForm()];
    if (bpmnPath && edited.has(bpmnPath)) {
      jobs.push(modeler.saveXML({ format: true }).then(({ xml }) => { contents[bpmnPath] = xml; }));
    }
    if (dmn && dmnPath && edited.has(dmnPath)) {
      jobs.push(dmn.saveXML({ format: true }).then(({ xml }) => { contents[dmnPath] = xml; }));
    }
    return Promise.all(jobs);
  }

  function save() {
    return collect().then(() => {
      const files = {};
      edited.forEach((path) => { files[path] = contents[path]; });
      if (!Object.keys(files).length) return { saved: [] };
      return post(cfg.urls.save, { files }).then((data) => {
        if (data.error || data.errors) throw new Error(data.error || Object.values(data.errors).flat().join("; "));
        edited.clear();
        return data;
      });
    });
  }

  const results = document.getElementById("modeller-results");

  // A library's own words (the XML parser's, the workflow engine's), kept apart from the sentence: folded, technical.
  function technical(detail) {
    const box = document.createElement("details");
    box.className = "technical";
    const summary = document.createElement("summary");
    summary.textContent = t("Technical detail");
    const code = document.createElement("code");
    code.textContent = detail;
    box.append(summary, code);
    return box;
  }

  function showProblems(problems) {
    const list = document.createElement("ul");
    list.className = "problems";
    problems.forEach((p) => {
      const item = document.createElement("li");
      const where = document.createElement("button");
      where.type = "button";
      where.className = "link problem-where";
      where.textContent = p.file + (p.line ? ":" + p.line : "") + (p.element_id ? " [" + p.element_id + "]" : "");
      where.addEventListener("click", () => reveal(p));
      item.appendChild(where);
      item.appendChild(document.createTextNode(" " + p.message));
      if (p.hint) {
        const hint = document.createElement("div");
        hint.className = "hint";
        hint.textContent = t("Hint:") + " " + p.hint;
        item.appendChild(hint);
      }
      if (p.detail) item.appendChild(technical(p.detail));
      list.appendChild(item);
    });
    return list;
  }

  function showResults(data) {
    results.innerHTML = "";
    const heading = document.createElement("h3");
    results.appendChild(heading);
    if (data.problems && data.problems.length) {
      heading.textContent = t("The model cannot be deployed:");
      results.appendChild(showProblems(data.problems));
      results.dataset.state = "invalid";
      return;
    }
    if (!data.tests_run) {
      heading.textContent = t("The model is valid.");
      results.dataset.state = "valid";
      return;
    }
    const failed = data.results.filter((r) => !r.passed);
    heading.textContent = failed.length ? t("Some test cases failed:") : t("All test cases passed.");
    results.dataset.state = failed.length ? "failed" : "passed";
    const list = document.createElement("ul");
    list.className = "test-results";
    data.results.forEach((r) => {
      const item = document.createElement("li");
      item.className = r.passed ? "passed" : "failed";
      item.textContent = (r.passed ? "✓ " : "✗ ") + r.file + " — " + r.name;
      r.failures.forEach((f, i) => {
        const line = document.createElement("div");
        line.className = "failure";
        line.textContent = f;
        const detail = r.failure_codes && r.failure_codes[i] && r.failure_codes[i].params.detail;
        if (detail) line.appendChild(technical(detail));
        item.appendChild(line);
      });
      list.appendChild(item);
    });
    results.appendChild(list);
  }

  function reveal(problem) {
    if (problem.file.endsWith(".bpmn")) {
      showTab("diagram");
      const go = problem.file === bpmnPath ? Promise.resolve() : openBpmn(problem.file);
      go.then(() => {
        const element = problem.element_id && modeler.get("elementRegistry").get(problem.element_id);
        if (element) {
          modeler.get("selection").select(element);
          modeler.get("canvas").scrollToElement(element);
        }
      });
    } else if (problem.file.endsWith(".dmn")) {
      showTab("decisions");
      openDmn(problem.file);
    } else if (problem.file.endsWith(".schema.json")) {
      showTab("forms");
      openForm(problem.file);
    }
  }

  function act(button, url, busy) {
    say(busy);
    button.disabled = true;
    return save().then(() => post(url)).then((data) => {
      if (data.redirect) { window.location = data.redirect; return; }
      showResults(data);
      say("");
    }).catch((err) => say(err.message, "bad")).finally(() => { button.disabled = false; });
  }

  document.getElementById("btn-save").addEventListener("click", (event) => {
    event.target.disabled = true;
    save().then(() => say(t("Draft saved."), "good")).catch((err) => say(err.message, "bad"))
      .finally(() => { event.target.disabled = false; });
  });
  document.getElementById("btn-validate").addEventListener("click", (event) => act(event.target, cfg.urls.validate, t("Validating…")));
  document.getElementById("btn-test").addEventListener("click", (event) => act(event.target, cfg.urls.test, t("Running the test cases…")));
  document.getElementById("btn-deploy").addEventListener("click", (event) => {
    if (!window.confirm(t("Deploy this draft? New complaints will start on it."))) return;
    act(event.target, cfg.urls.deploy, t("Deploying…"));
  });

  // --- tabs and file choosers ---------------------------------------------------------------------

  function showTab(name) {
    document.querySelectorAll("[data-tab]").forEach((tab) => {
      const on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      document.getElementById("panel-" + tab.dataset.tab).hidden = !on;
    });
    if (name === "decisions" && !dmnPath && cfg.dmnFiles.length) openDmn(cfg.dmnFiles[0]);
    if (name === "forms" && !formPath) {
      const first = document.getElementById("form-file").value;
      if (first) openForm(first);
    }
  }
  document.querySelectorAll("[data-tab]").forEach((tab) => tab.addEventListener("click", () => showTab(tab.dataset.tab)));
  document.getElementById("bpmn-file").addEventListener("change", (e) => openBpmn(e.target.value));
  document.getElementById("dmn-file").addEventListener("change", (e) => openDmn(e.target.value));
  document.getElementById("form-file").addEventListener("change", (e) => openForm(e.target.value));
  window.addEventListener("beforeunload", (event) => { if (edited.size) event.preventDefault(); });

  showTab("diagram");
  openBpmn(bpmnPath);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
