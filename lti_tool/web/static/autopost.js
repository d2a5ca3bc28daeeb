// Submit the page's form at once (the LTI messages that travel through the browser as a form POST).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var form = document.querySelector("form[data-autopost]");
  if (form) form.submit();
});
