/*
 * The window that answers the 1EdTech "LTI Client Side postMessages" for this tool frame: the platform
 * frame named by lti_storage_target (or the parent, or the opener of a new window). Shared by
 * lti-storage.js (login: put_data) and lti-launch-check.js (launch: get_data).
 */
window.ltiPlatformFrame = function (targetName) {
  "use strict";
  var parentWindow = window.parent !== window ? window.parent : window.opener;
  if (!parentWindow || !targetName || targetName === "_parent") return parentWindow;
  try {
    return parentWindow.frames[targetName] || parentWindow;
  } catch (e) {
    return parentWindow;
  }
};
