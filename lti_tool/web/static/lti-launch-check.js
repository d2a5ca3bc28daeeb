/*
 * A launch whose state cookie did not come back (third-party cookies blocked): read the state back from
 * the platform's storage (1EdTech "LTI Client Side postMessages", lti.get_data) in this browser, and post
 * the launch again only when the platform answers with the same state. Otherwise offer a new window.
 */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lti-check-data").textContent);
  var target = window.ltiPlatformFrame(data.target);
  var messageId = "state-" + Math.random().toString(36).slice(2);
  var settled = false;

  function giveUp() {
    if (settled) return;
    settled = true;
    document.getElementById("lti-checking").hidden = true;
    document.getElementById("lti-reopen").hidden = false;
  }

  if (!target) {
    giveUp();
    return;
  }
  window.addEventListener("message", function (event) {
    if (settled || event.origin !== data.origin) return;
    var message = event.data || {};
    if (message.subject !== "lti.get_data.response" || message.message_id !== messageId) return;
    if (message.value === data.state) {
      settled = true;
      document.getElementById("lti-launch-form").submit();
    } else {
      giveUp();
    }
  });
  target.postMessage(
    { subject: "lti.get_data", message_id: messageId, key: "state_" + data.state },
    data.origin
  );
  window.setTimeout(giveUp, 3000);
})();
