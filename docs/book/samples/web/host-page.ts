// A bank's page that frames the pinframe widget with @pinframe/host. The page is served from one of
// the issuer's registered origins; its own back end asks pinframe for the token, with that origin as
// parentOrigin, and hands the page the `url`.
import { mountPinframe, type ErrorCode, type PinframeHandle, type WidgetMessage } from "@pinframe/host";

type Action = "VIEW_PIN" | "SET_PIN";

const slot = document.querySelector<HTMLElement>("#card-pin")!;
const status = document.querySelector<HTMLElement>("#pin-status")!;
const submit = document.querySelector<HTMLButtonElement>("#submit-pin")!;

let widget: PinframeHandle | undefined;
let action: Action = "VIEW_PIN";
let lastError: ErrorCode | undefined;
/** A fresh link, asked for on token_expiring and opened on token_expired. */
let fresh: Promise<string> | undefined;

/** Your back end's own route (not pinframe's): it calls POST /api/v1/pin-control/tokens with
 *  {cardId, action, parentOrigin: this page's origin} and answers the `url`. Never log the url. */
async function pinLink(action: Action): Promise<string> {
  const response = await fetch("/bank/card-pin-link", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action }),
  });
  if (!response.ok) throw new Error(`the bank's back end answered ${response.status}`);
  const { url } = (await response.json()) as { url: string };
  return url;
}

/** Frames the widget at `url`: one url, one frame, once. */
function open(url: string): void {
  widget?.destroy();
  lastError = undefined;
  submit.hidden = action !== "SET_PIN";
  submit.disabled = true;
  widget = mountPinframe({ container: slot, url, title: "Your card PIN", onEvent, minHeight: 120 });
}

async function start(next: Action): Promise<void> {
  action = next;
  status.textContent = "";
  try {
    open(await pinLink(action));
  } catch {
    status.textContent = "The PIN service cannot be reached. Try again later.";
  }
}

function onEvent(message: WidgetMessage): void {
  switch (message.event) {
    case "resize":
      break; // mountPinframe already fitted the frame to message.height
    case "view_pin_success":
      break; // the PIN is on screen; the widget hides it again by itself
    case "set_pin_success":
      submit.hidden = true;
      status.textContent = "Your new PIN is set.";
      break;
    case "set_pin_validation_error":
      break; // the widget shows why next to the field; the next change sends pin_valid
    case "pin_valid":
      submit.disabled = !message.pin_valid;
      break;
    case "error":
      // no_network and service_unavailable: the widget offers "Try again" with the same link.
      lastError = message.code;
      break;
    case "view_pin_error":
    case "set_pin_error":
      submit.hidden = true;
      // Only a new link helps. A card without a PIN can get one through the set flow.
      status.textContent = lastError === "no_pin" ? "This card has no PIN yet." : "Start again for a new link.";
      break;
    case "token_expiring":
      fresh = pinLink(action); // ten seconds left: the next link is on its way
      break;
    case "token_expired":
      // Frame the fresh link; the expired one was never used.
      (fresh ?? pinLink(action)).then(open, () => (status.textContent = "The link expired. Start again."));
      fresh = undefined;
      break;
  }
}

document.querySelector("#view-pin")!.addEventListener("click", () => start("VIEW_PIN"));
document.querySelector("#change-pin")!.addEventListener("click", () => start("SET_PIN"));
// The page's own button submits the widget's form: {event: "set_pin"}, to the widget's origin only.
submit.addEventListener("click", () => {
  submit.disabled = true;
  widget?.setPin();
});
