// The intake page looks the customer up while the contact (phone or e-mail) or the platform account is typed:
// a known customer is shown above the form with their number of complaints, the latest ones and any flag
// (repeat / malicious complainant). The words come translated from data attributes of #customer-lookup.
(function () {
  "use strict";
  var box = document.getElementById("customer-lookup");
  var form = box && box.closest("form");
  if (!form) return;
  var contact = form.querySelector('[name="customer_contact"]');
  var platform = form.querySelector('[name="customer_id"]');
  var words = box.dataset;
  var timer = null;
  var asked = "";

  function newTabLink(url, text) {
    var link = document.createElement("a");
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = text;
    return link;
  }

  function show(customer) {
    box.textContent = "";
    if (!customer) {
      box.hidden = true;
      return;
    }
    var line = document.createElement("p");
    line.textContent = words.tKnown.replace("{name}", customer.name).replace("{n}", customer.complaints) + " ";
    if (customer.flag) {
      var flag = document.createElement("span");
      flag.className = "badge alarm";
      flag.textContent = customer.flag === "malicious" ? words.tFlagMalicious : words.tFlagRepeat;
      line.appendChild(flag);
      line.appendChild(document.createTextNode(" "));
    }
    line.appendChild(newTabLink(customer.url, words.tHistory));
    box.appendChild(line);
    if (customer.recent.length) {
      var list = document.createElement("ul");
      customer.recent.forEach(function (item) {
        var entry = document.createElement("li");
        entry.appendChild(newTabLink(item.url, item.reference));
        entry.appendChild(document.createTextNode(" " + item.received_at.slice(0, 10) + " · " + item.category));
        list.appendChild(entry);
      });
      box.appendChild(list);
    }
    box.hidden = false;
  }

  function ask() {
    var typed = contact ? contact.value.trim() : "";
    var account = platform ? platform.value.trim() : "";
    var query = new URLSearchParams({contact: typed, platform_id: account}).toString();
    if (query === asked) return;
    asked = query;
    // Not worth asking before a phone number has 6 digits or an e-mail address its "@".
    if (typed.replace(/\D/g, "").length < 6 && typed.indexOf("@") < 0 && !account) {
      show(null);
      return;
    }
    fetch(box.dataset.url + "?" + query, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {customer: null}; })
      .then(function (answer) { if (query === asked) show(answer.customer); })
      .catch(function () { show(null); });
  }

  [contact, platform].forEach(function (input) {
    if (!input) return;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 300);
    });
  });
  ask();
}());
