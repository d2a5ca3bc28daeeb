// The evidence page: refuse oversized files before they are sent, count words as the learner types
// (against the course map's limits), say at once when a link is not a video where only a video link is
// taken, and keep unsaved text in this tab when the learner leaves the page to add an artifact (each
// artifact has its own form). The server checks all of it again.
(function () {
  "use strict";

  // The same count as the server's: runs of non-space characters.
  function countWords(text) {
    var trimmed = text.trim();
    return trimmed ? trimmed.split(/\s+/).length : 0;
  }

  function updateCount(field) {
    var counter = document.getElementById(field.id + "-count");
    if (!counter) return;
    var n = countWords(field.value);
    var max = parseInt(field.getAttribute("data-max-words"), 10);
    var over = max && n > max ? n - max : 0;
    counter.querySelector(".words").textContent = String(n);
    counter.querySelector(".unit").textContent = n === 1 ? "word" : "words";
    counter.querySelector(".over").textContent = over ? ": " + over + " over the limit" : "";
    counter.classList.toggle("over-limit", over > 0);
    // The server's message for this field (missing, too short) keeps it invalid until the next save.
    var serverError = document.getElementById(field.id + "-error");
    field.setAttribute("aria-invalid", over > 0 || serverError ? "true" : "false");
  }

  document.querySelectorAll("textarea[data-max-words], textarea[data-min-words]").forEach(function (field) {
    field.addEventListener("input", function () {
      updateCount(field);
    });
    updateCount(field);
  });

  function hostOf(url) {
    try {
      return new URL(url).hostname.toLowerCase().replace(/\.$/, "");
    } catch (e) {
      return "";
    }
  }

  function isVideoLink(input, url) {
    var host = hostOf(url);
    if (!host) return false;
    var domains = (input.getAttribute("data-video-domains") || "").split(" ");
    var onHost = domains.some(function (d) {
      return d && (host === d || host.slice(-(d.length + 1)) === "." + d);
    });
    if (onHost) return true;
    var path = new URL(url).pathname.toLowerCase();
    return (input.getAttribute("data-video-extensions") || "").split(" ").some(function (ext) {
      return ext && path.slice(-(ext.length + 1)) === "." + ext;
    });
  }

  function notAVideo(form) {
    var input = form.querySelector("input[data-video-only]");
    if (!input || !input.value.trim() || isVideoLink(input, input.value.trim())) return null;
    var ids = (input.getAttribute("aria-describedby") || "").split(" ");
    var help = document.getElementById(ids[ids.length - 1]);
    return "That address is not a video link. " + (help ? help.textContent : "");
  }

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
    var link = form.querySelector("input[data-video-only]");
    if (link) {
      // Said when the form is sent; typing again clears it (never mid-click, which would move the button).
      link.addEventListener("input", function () {
        showUploadError(form, null);
      });
    }
    form.addEventListener("submit", function (event) {
      var problem = tooLarge(form) || notAVideo(form);
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
      updateCount(field);
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
