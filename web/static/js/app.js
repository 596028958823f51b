// Counts down the time left on every element with a data-due attribute (ISO time), once a minute, on the
// server's clock (<body data-now>, which tests and demos may set) rather than the browser's. The page shows the
// absolute due time beside it. The words come translated from data attributes on <body>.
(function () {
  "use strict";
  var body = document.body.dataset;
  var serverNow = Date.parse(body.now);
  var offset = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function word(template, name, value) {
    return template.replace("{" + name + "}", value);
  }

  function span(ms) {
    var minutes = Math.floor(ms / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var parts = [];
    if (days) parts.push(word(body.tDays, "n", days));
    if (hours) parts.push(word(body.tHours, "n", hours));
    if (!days) parts.push(word(body.tMinutes, "n", minutes % 60));
    return parts.join(" ");
  }

  function tick() {
    var now = Date.now() + offset;
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var left = due - now;
      el.textContent = left >= 0 ? word(body.tLeft, "time", span(left))
                                 : word(body.tOverdue, "time", span(-left));
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 2 * 3600 * 1000);
    });
  }

  tick();
  setInterval(tick, 60000);
})();

// Copy buttons: <button data-copy="#field" data-copied="Copied"> puts the field's text on the clipboard.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      var field = document.querySelector(button.dataset.copy);
      if (!field) return;
      var text = field.value !== undefined ? field.value : field.textContent;
      var done = function () {
        button.textContent = button.dataset.copied;
        setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { field.select(); });
      } else {
        // Plain http on another host: select the text so that Ctrl+C / long-press copies it.
        field.select();
        if (document.execCommand && document.execCommand("copy")) done();
      }
    });
  });
})();

// File fields: the browser draws their button and "no file" line in its own language, not the page's
// (an English Chromium shows "Choose Files" on the Chinese pages). A button and a line in the page's words,
// from <body data-t-*>, stand in for them; the field itself stays, visually hidden, for the form and the label.
(function () {
  "use strict";
  var words = document.body.dataset;
  if (!words.tChooseFiles) return;
  document.querySelectorAll('input[type="file"]').forEach(function (input) {
    var pick = document.createElement("button");
    pick.type = "button";
    pick.className = "secondary file-pick";
    pick.textContent = words.tChooseFiles;
    var chosen = document.createElement("span");
    chosen.className = "file-chosen muted";
    var show = function () {
      var n = input.files ? input.files.length : 0;
      chosen.textContent = n === 0 ? words.tNoFile : n === 1 ? input.files[0].name
        : words.tFilesChosen.replace("{n}", n);
    };
    pick.addEventListener("click", function () { input.click(); });
    input.addEventListener("change", show);
    input.classList.add("file-native");
    input.tabIndex = -1;
    input.insertAdjacentElement("afterend", chosen);
    input.insertAdjacentElement("afterend", pick);
    show();
  });
})();
