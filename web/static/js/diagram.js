// Read-only BPMN diagrams drawn with bpmn-js: the complaint's own model version (what is done, where it
// stands now) and the models pages (a version, or one side of a comparison). Every element with
// `data-diagram` loads `data-xml` and puts each marker class of `data-marks` ({"class": [element ids]}) on
// those elements; `data-ready="1"` once drawn.
(function () {
  "use strict";
  if (typeof BpmnJS === "undefined") return;
  document.querySelectorAll("[data-diagram]").forEach(function (box) {
    var viewer = new BpmnJS({ container: box });
    var marks = JSON.parse(box.dataset.marks || "{}");
    fetch(box.dataset.xml, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        Object.keys(marks).forEach(function (marker) {
          marks[marker].forEach(function (id) {
            if (registry.get(id)) canvas.addMarker(id, marker);
          });
        });
        box.dataset.ready = "1";
      })
      .catch(function () {
        box.textContent = box.dataset.error;
        box.classList.add("failed");
      });
  });
})();
