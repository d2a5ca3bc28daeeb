/*
 * The launch answered its POST with the landing page itself (no redirect to wait for). Make this history
 * entry a GET of the page's own URL, so that reloading the page, or coming back to it, asks for the page
 * again instead of posting the launch's id_token, which has been spent, a second time.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.getAttribute("data-url");
  if (url && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", url);
  }
})();
