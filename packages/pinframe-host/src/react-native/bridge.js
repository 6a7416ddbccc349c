// @ts-check
// @pinframe/host/react-native/bridge: the JavaScript a React Native app injects into the widget's
// WebView (react-native-webview, `injectedJavaScriptBeforeContentLoaded`). It installs an
// android_handler (a plain object, on both platforms) that forwards each event to the app as JSON
// through window.ReactNativeWebView.postMessage. Tested in Chromium by tests/e2e/host-kits.test.mjs.
export const PINFRAME_BRIDGE = `(function () {
  if (!window.ReactNativeWebView || window.android_handler) return;
  var send = function (message) { window.ReactNativeWebView.postMessage(JSON.stringify(message)); };
  window.android_handler = {
    view_pin_success: function () { send({ event: "view_pin_success" }); },
    view_pin_error: function () { send({ event: "view_pin_error" }); },
    set_pin_success: function () { send({ event: "set_pin_success" }); },
    set_pin_error: function () { send({ event: "set_pin_error" }); },
    set_pin_validation_error: function () { send({ event: "set_pin_validation_error" }); },
    pin_valid: function (valid) { send({ event: "pin_valid", pin_valid: valid === true }); },
    error: function (code) { send({ event: "error", code: String(code) }); },
    token_expiring: function () { send({ event: "token_expiring" }); },
    token_expired: function () { send({ event: "token_expired" }); }
  };
})(); true;`;

// The host submits the set-PIN form with webViewRef.current.injectJavaScript(PINFRAME_SET_PIN).
export const PINFRAME_SET_PIN = "window.set_pin && window.set_pin(); true;";
