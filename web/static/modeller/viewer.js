// Read-only diagrams on the models pages: a deployed version, or one side of a comparison with the
// added, removed and changed elements marked.
(function () {
  "use strict";
  if (typeof BpmnJS === "undefined") return;
  document.querySelectorAll("[data-model-diagram]").forEach(function (box) {
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
        Object.keys(marks).forEach(function (kind) {
          marks[kind].forEach(function (id) {
            if (registry.get(id)) canvas.addMarker(id, "diff-" + kind);
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
