// Draws the complaint's own model version with bpmn-js and marks what is done and where it stands now.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || typeof BpmnJS === "undefined") return;
  var completed = JSON.parse(box.dataset.completed || "[]");
  var current = JSON.parse(box.dataset.current || "[]");
  var viewer = new BpmnJS({ container: box });

  function failed() {
    box.textContent = box.dataset.error;
    box.classList.add("failed");
  }

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
      completed.forEach(function (id) {
        if (registry.get(id)) canvas.addMarker(id, "done");
      });
      current.forEach(function (id) {
        if (registry.get(id)) canvas.addMarker(id, "current");
      });
      box.dataset.ready = "1";
    })
    .catch(failed);
})();
