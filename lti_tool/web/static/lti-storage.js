/*
 * LTI Client Side postMessages (1EdTech "Platform Storage"): when the browser blocks third-party cookies,
 * the tool keeps the OIDC state and nonce in the platform's storage frame before going on to the
 * platform's authorization endpoint. The server keeps them too, and checks them at launch.
 */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lti-storage-data").textContent);
  var target = window.ltiPlatformFrame(data.target);
  var pending = {};
  var done = false;

  function proceed() {
    if (done) return;
    done = true;
    window.location.replace(data.authUrl);
  }

  function put(key, value) {
    var id = key + "-" + Math.random().toString(36).slice(2);
    pending[id] = true;
    target.postMessage({ subject: "lti.put_data", message_id: id, key: key, value: value }, data.origin);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== data.origin) return;
    var message = event.data || {};
    if (message.subject !== "lti.put_data.response" || !pending[message.message_id]) return;
    delete pending[message.message_id];
    if (message.error && window.console) {
      window.console.warn("platform storage refused", message.error);
    }
    if (Object.keys(pending).length === 0) proceed();
  });

  if (!target) {
    proceed();
    return;
  }
  put("state_" + data.state, data.state);
  put("nonce_" + data.nonce, data.nonce);
  // The state is also kept on the server: a platform that never answers only delays the launch.
  window.setTimeout(proceed, 2000);
})();
