// Dynamic Registration is done: tell the platform's registration window it may close (1EdTech message).
(function () {
  "use strict";
  var platform = window.opener || window.parent;
  if (platform && platform !== window) platform.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
})();
