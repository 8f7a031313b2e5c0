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
