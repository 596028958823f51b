// Read-only BPMN diagrams drawn with bpmn-js: the complaint's own model version (what is done, where it
// stands now) and the models pages (a version, or one side of a comparison). Every element with
// `data-diagram` loads `data-xml` and puts each marker class of `data-marks` ({"class": [element ids]}) on
// those elements; `data-ready="1"` once drawn. A toolbar zooms in and out, fits the whole model, centres the
// current task and shows the diagram full screen; the button words come from the box's data-t-* attributes.
// With a current task the diagram opens at a readable size centred on it, else fitted. Model names are
// bilingual ("中文 English"): the diagram shows the page's language, as the pages do (docs/MODELLING.md, "Names").
(function () {
  "use strict";
  if (typeof BpmnJS === "undefined") return;
  var READABLE = 1.0;
  var STEP = 1.25;
  var BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  // forms/render.py: _BILINGUAL — the Chinese up to its last Chinese character (and punctuation), then English
  // (after a space, or right after full-width punctuation: "时限（自受理）First response limit").
  var BILINGUAL = /^(.*[\u3000-\u9fff\uff00-\uffef][!-\/:-@[-`{-~]*)(?:\s+|(?<=[\u3000-\u303f\uff00-\uffef]))([A-Za-z][\x20-\x7e]*)$/;

  // The element's own `title_en` property (spiffworkflow:properties in its extensionElements), or null.
  function titleEn(el) {
    for (var child = el.firstElementChild; child; child = child.nextElementSibling) {
      if (child.namespaceURI !== BPMN || child.localName !== "extensionElements") continue;
      var properties = child.getElementsByTagNameNS("*", "property");
      for (var i = 0; i < properties.length; i++) {
        if (properties[i].getAttribute("name") === "title_en") return properties[i].getAttribute("value");
      }
    }
    return null;
  }

  // forms/render.py: task_title — in English a `title_en` property wins over the split.
  function oneLanguage(name, english, en) {
    var parts = BILINGUAL.exec(name.trim());
    if (english) return en || (parts ? parts[2] : name);
    if (en && name.length > en.length + 1 && name.slice(-en.length - 1) === " " + en) {
      return name.slice(0, -en.length - 1);
    }
    return parts ? parts[1] : name;
  }

  function inPageLanguage(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) return xml;  // bpmn-js reports what is wrong
    var english = document.documentElement.lang === "en";
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN, "*"), function (el) {
      var name = el.getAttribute("name");
      if (name) el.setAttribute("name", oneLanguage(name, english, titleEn(el)));
    });
    return new XMLSerializer().serializeToString(doc);
  }

  function button(box, name, symbol, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "diagram-tool diagram-" + name;
    b.textContent = symbol;
    var words = box.dataset["t" + name.charAt(0).toUpperCase() + name.slice(1)] || name;
    b.title = words;
    b.setAttribute("aria-label", words);
    b.addEventListener("click", action);
    return b;
  }

  function centreOn(canvas, registry, ids) {
    var shapes = ids.map(function (id) { return registry.get(id); })
      .filter(function (el) { return el && el.width !== undefined; });
    if (!shapes.length) return false;
    var left = Math.min.apply(null, shapes.map(function (s) { return s.x; }));
    var top = Math.min.apply(null, shapes.map(function (s) { return s.y; }));
    var right = Math.max.apply(null, shapes.map(function (s) { return s.x + s.width; }));
    var bottom = Math.max.apply(null, shapes.map(function (s) { return s.y + s.height; }));
    canvas.zoom(READABLE);
    var box = canvas.viewbox();
    var scale = Math.min(READABLE, 0.9 * box.outer.width / (right - left + 80),
                         0.9 * box.outer.height / (bottom - top + 80));
    canvas.zoom(Math.max(scale, 0.4));
    box = canvas.viewbox();
    canvas.viewbox({ x: (left + right) / 2 - box.width / 2, y: (top + bottom) / 2 - box.height / 2,
                     width: box.width, height: box.height });
    return true;
  }

  document.querySelectorAll("[data-diagram]").forEach(function (box) {
    var viewer = new BpmnJS({ container: box });
    var marks = JSON.parse(box.dataset.marks || "{}");
    var current = marks.current || [];
    fetch(box.dataset.xml, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(inPageLanguage(xml)); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        Object.keys(marks).forEach(function (marker) {
          marks[marker].forEach(function (id) {
            if (registry.get(id)) canvas.addMarker(id, marker);
          });
        });
        var fit = function () { canvas.zoom("fit-viewport", "auto"); };
        var tools = document.createElement("div");
        tools.className = "diagram-tools";
        tools.appendChild(button(box, "zoomIn", "+", function () { canvas.zoom(canvas.zoom() * STEP); }));
        tools.appendChild(button(box, "zoomOut", "−", function () { canvas.zoom(canvas.zoom() / STEP); }));
        tools.appendChild(button(box, "fit", "⤢", fit));
        if (current.length) {
          tools.appendChild(button(box, "current", "◎", function () { centreOn(canvas, registry, current); }));
        }
        if (box.requestFullscreen) {
          tools.appendChild(button(box, "fullScreen", "⛶", function () {
            if (document.fullscreenElement === box) document.exitFullscreen();
            else box.requestFullscreen();
          }));
          box.addEventListener("fullscreenchange", function () {
            canvas.resized();
            if (!centreOn(canvas, registry, current)) fit();
          });
        }
        box.appendChild(tools);
        if (!centreOn(canvas, registry, current)) fit();
        box.dataset.ready = "1";
      })
      .catch(function () {
        box.textContent = box.dataset.error;
        box.classList.add("failed");
      });
  });
})();
