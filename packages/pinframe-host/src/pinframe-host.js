// @ts-check
/// <reference path="./index.d.ts" />
// @pinframe/host, desktop helper: frames the PIN widget, hears its events (only from the widget's
// origin and window), fits the frame to its content (the `resize` event) and forwards the host's
// set_pin command to the widget's origin, never "*". Plain JavaScript with JSDoc types checked
// against index.d.ts; no dependencies and no build step: an ES module any bank page can serve.
// The protocol is docs/protocol.md, "Desktop: postMessage".
//
//   import { mountPinframe } from "@pinframe/host";   // or "./pinframe-host.js", served as is
//   const widget = mountPinframe({
//     container: document.getElementById("pin"),
//     url,                       // the `url` of POST /api/v1/pin-control/tokens, from your backend
//     title: "Your card PIN",    // the iframe's accessible name, in the page's language
//     onEvent: (message) => console.log(message.event),
//   });
//   widget.setPin();             // submit the set-PIN form from the page

/**
 * Frames the widget at `url` inside `container`.
 * @param {import("./index").MountOptions} options
 * @returns {import("./index").PinframeHandle}
 */
export function mountPinframe({ container, url, title = "Card PIN", onEvent = () => {}, minHeight = 0 }) {
  const origin = new URL(url, window.location.href).origin;
  const frame = document.createElement("iframe");
  frame.title = title;
  frame.src = url;
  frame.referrerPolicy = "no-referrer";
  // The widget copies the PIN only when the issuer allows it, and then needs this permission.
  frame.allow = "clipboard-write";
  frame.style.border = "0";
  frame.style.width = "100%";
  frame.style.display = "block";

  /** @param {MessageEvent} event */
  function onMessage(event) {
    // Only the framed widget counts: its origin and its window, never "*".
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    const data = event.data;
    if (!data || typeof data.event !== "string") return;
    if (data.event === "resize") {
      if (typeof data.height === "number" && Number.isFinite(data.height) && data.height >= 0) {
        frame.style.height = `${Math.max(minHeight, Math.ceil(data.height))}px`;
      }
    }
    onEvent(/** @type {import("./index").WidgetMessage} */ (data));
  }

  window.addEventListener("message", onMessage);
  container.replaceChildren(frame);
  return {
    frame,
    setPin() {
      frame.contentWindow?.postMessage({ event: "set_pin" }, origin);
    },
    destroy() {
      window.removeEventListener("message", onMessage);
      frame.remove();
    },
  };
}
