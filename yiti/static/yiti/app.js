/* Yiti: small progressive enhancements. Pages work without this file. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-nav-toggle]");
    if (toggle) {
      document.body.classList.toggle("nav-open");
      return;
    }
    if (document.body.classList.contains("nav-open") && !event.target.closest(".sidebar")) {
      document.body.classList.remove("nav-open");
    }
    var copy = event.target.closest && event.target.closest("[data-copy]");
    if (copy && navigator.clipboard) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (source) {
        navigator.clipboard.writeText(source.textContent.trim());
        copy.textContent = copy.getAttribute("data-copied") || copy.textContent;
      }
    }
  });
  /* Forms that ask before a destructive action: <form data-confirm="Are you sure?"> */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
  /* Forms whose fields depend on a kind: <form data-kind-form> with a select named "kind";
     a field whose input has data-kinds="call follow_up" (or a row with it) shows only for
     those kinds. Without this script every field shows. */
  function syncKinds(form) {
    var kind = form.querySelector("[name=kind]");
    if (!kind) { return; }
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      var row = el.classList.contains("form-row") ? el : el.closest(".form-row");
      if (row) { row.hidden = el.getAttribute("data-kinds").split(" ").indexOf(kind.value) < 0; }
    });
  }
  /* The capacity of a call wave: agents × hours × calls per agent-hour, as typed. */
  function syncCapacity(form) {
    var out = form.querySelector("[data-capacity-output]");
    if (!out) { return; }
    var product = 1;
    form.querySelectorAll("[data-capacity]").forEach(function (el) {
      product *= parseFloat(el.value) || 0;
    });
    out.textContent = String(Math.floor(product));
  }
  function syncForms() {
    document.querySelectorAll("form[data-kind-form]").forEach(function (form) {
      syncKinds(form);
      syncCapacity(form);
    });
  }
  document.addEventListener("DOMContentLoaded", syncForms);
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-kind-form]");
    if (form) { syncCapacity(form); }
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-kind-form]");
    if (form) { syncKinds(form); syncCapacity(form); }
  });
})();
/* The ticket's reply box: an internal note unless the public switch is on; the line under it
   and the button say to whom it goes. */
(function () {
  "use strict";
  function syncReply(form) {
    var box = form.querySelector("#reply-public");
    if (!box) { return; }
    var mode = box.checked ? "public" : "internal";
    form.classList.toggle("is-public", box.checked);
    ["#reply-audience", "#reply-submit"].forEach(function (sel) {
      var el = form.querySelector(sel);
      if (el && el.getAttribute("data-" + mode)) { el.textContent = el.getAttribute("data-" + mode); }
    });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-reply-form]");
    if (form) { syncReply(form); }
  });
})();
/* Pickers with search: <select data-search> gets a search box above it that narrows the
   options to those containing the typed text (names, not ids). Without JS: the plain select. */
(function () {
  "use strict";
  function enhance(select) {
    if (select.getAttribute("data-search-ready")) { return; }
    select.setAttribute("data-search-ready", "1");
    var box = document.createElement("input");
    box.type = "search";
    box.className = "picker-search";
    box.placeholder = document.documentElement.lang.indexOf("zh") === 0 ? "搜索…" : "Search…";
    box.setAttribute("aria-label", box.placeholder);
    select.parentNode.insertBefore(box, select);
    box.addEventListener("input", function () {
      var text = box.value.trim().toLowerCase();
      var firstShown = null;
      Array.prototype.forEach.call(select.options, function (opt) {
        var show = !text || !opt.value || opt.text.toLowerCase().indexOf(text) >= 0;
        opt.hidden = !show;
        if (show && opt.value && firstShown === null) { firstShown = opt; }
      });
      if (text && firstShown && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) {
        select.value = firstShown.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }
  function enhanceAll(root) {
    (root || document).querySelectorAll("select[data-search]").forEach(enhance);
  }
  document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhanceAll(event.target); });
})();
/* A complaint's class and reason: <form data-class-reason='{"reason": "class", …}'> — the class
   narrows the reasons to its own; a reason fills an empty class, never overwrites it. */
(function () {
  "use strict";
  function parts(form) {
    var map = {};
    try { map = JSON.parse(form.getAttribute("data-class-reason") || "{}"); } catch (e) { map = {}; }
    return { map: map, klass: form.querySelector("[name=complaint_class]"), reason: form.querySelector("[name=complaint_reason]") };
  }
  function narrow(form) {
    var p = parts(form);
    if (!p.klass || !p.reason) { return; }
    Array.prototype.forEach.call(p.reason.options, function (opt) {
      var own = p.map[opt.value];
      opt.hidden = Boolean(p.klass.value && opt.value && own && own !== p.klass.value);
    });
    if (p.reason.selectedIndex > 0 && p.reason.options[p.reason.selectedIndex].hidden) { p.reason.value = ""; }
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-class-reason]");
    if (!form) { return; }
    var p = parts(form);
    if (event.target === p.reason && p.klass && !p.klass.value && p.map[p.reason.value]) {
      p.klass.value = p.map[p.reason.value];
    }
    narrow(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-class-reason]").forEach(narrow);
  });
})();
