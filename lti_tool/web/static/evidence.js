// The evidence page: refuse oversized files before they are sent, and keep unsaved text in this tab
// when the learner leaves the page to add an artifact (each artifact has its own form).
(function () {
  "use strict";

  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toFixed(bytes < 1024 * 1024 ? 2 : 0);
  }

  function tooLarge(form) {
    var input = form.querySelector("input[type=file][data-max-bytes]");
    if (!input || !input.files || !input.files.length) return null;
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files[0];
    if (limit && file.size > limit) {
      return "\u201c" + file.name + "\u201d is " + megabytes(file.size) + " MB; the limit is " +
        megabytes(limit) + " MB. Choose a smaller file, or upload it elsewhere and add a link.";
    }
    return null;
  }

  function showUploadError(form, message) {
    var box = form.querySelector(".upload-error");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
  }

  document.querySelectorAll("form.add-artifact").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    if (input) {
      input.addEventListener("change", function () {
        var problem = tooLarge(form);
        showUploadError(form, problem);
        if (problem) input.value = "";
      });
    }
    form.addEventListener("submit", function (event) {
      var problem = tooLarge(form);
      if (problem) {
        event.preventDefault();
        showUploadError(form, problem);
      }
    });
  });

  // Unsaved answers survive a round trip through an artifact form: kept in sessionStorage (this tab
  // only) until the texts form itself is sent.
  var texts = document.getElementById("evidence-form");
  if (!texts || !window.sessionStorage) return;
  var prefix = "evidence:" + texts.getAttribute("data-credential") + ":";
  var fields = Array.prototype.filter.call(texts.elements, function (el) {
    return el.tagName === "TEXTAREA";
  });
  var restored = false;
  fields.forEach(function (field) {
    var key = prefix + field.name;
    var kept = sessionStorage.getItem(key);
    if (kept !== null && kept !== field.value) {
      field.value = kept;
      restored = true;
    }
    field.addEventListener("input", function () {
      sessionStorage.setItem(key, field.value);
    });
  });
  if (restored) {
    var note = document.createElement("p");
    note.className = "flash restored";
    note.setAttribute("role", "status");
    note.textContent = "Text you typed earlier in this tab was restored. Save draft to keep it.";
    texts.insertBefore(note, texts.querySelector("h2"));
  }
  texts.addEventListener("submit", function () {
    fields.forEach(function (field) {
      sessionStorage.removeItem(prefix + field.name);
    });
  });
})();
