// The demo host page: asks its backend for a token, frames the widget, lists the widget's events.
const slot = document.getElementById("frame-slot");
const events = document.getElementById("events");
const status = document.getElementById("status");
const reuse = document.getElementById("reuse-link");
let frame = null;
let widgetOrigin = null;
let lastUrl = null;

function openWidget(url) {
  widgetOrigin = new URL(url).origin;
  frame = document.createElement("iframe");
  frame.title = "Card PIN";
  frame.referrerPolicy = "no-referrer";
  frame.src = url;
  slot.replaceChildren(frame);
}

window.addEventListener("message", (event) => {
  // Only the framed widget's messages count: right origin, right window.
  if (event.origin !== widgetOrigin || !frame || event.source !== frame.contentWindow) return;
  const data = event.data || {};
  if (typeof data.event !== "string") return;
  const item = document.createElement("li");
  item.className = "event";
  item.dataset.event = data.event;
  const detail = "pin_valid" in data ? ` (pin_valid: ${data.pin_valid})` : "";
  item.textContent = `${data.event}${detail} — from ${event.origin}`;
  events.append(item);
});

const hostSetPin = document.getElementById("host-set-pin");

async function start(action) {
  status.textContent = "Asking the bank's backend for a PIN link…";
  hostSetPin.disabled = action !== "SET_PIN";
  try {
    const response = await fetch("/demo/api/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action }),
    });
    if (!response.ok) throw new Error(`the backend answered ${response.status}`);
    const { url } = await response.json();
    lastUrl = url;
    reuse.disabled = false;
    status.textContent = "";
    openWidget(url);
  } catch (error) {
    status.textContent = `Could not get a PIN link: ${error.message}`;
  }
}

document.getElementById("view-pin").addEventListener("click", () => start("VIEW_PIN"));
document.getElementById("set-pin").addEventListener("click", () => start("SET_PIN"));

// The host may submit the widget's form itself: postMessage({event: "set_pin"}) to the widget's origin.
hostSetPin.addEventListener("click", () => {
  if (frame && widgetOrigin) frame.contentWindow.postMessage({ event: "set_pin" }, widgetOrigin);
});

// Shows single use: the same link a second time gets view_pin_error.
reuse.addEventListener("click", () => {
  if (lastUrl) openWidget(lastUrl);
});
