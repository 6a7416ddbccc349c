// @pinframe/host: every event the pinframe widget sends its host and every command it takes
// (docs/protocol.md, "Host events and commands"). The fixed events (view_pin_success … pin_valid),
// pinframe's `error`, `token_expiring` and `token_expired`, and `resize`, which only a framing page
// hears. Webview hosts get the same events through android_handler and ios_handler.

/** The widget's outcome events (docs/protocol.md, "Host events and commands"). */
export type OutcomeEvent =
  | "view_pin_success"
  | "view_pin_error"
  | "set_pin_success"
  | "set_pin_error"
  | "set_pin_validation_error";

/**
 * Why a flow stopped: the `code` of the `error` event. `no_network` and `service_unavailable` may
 * pass (the widget offers "Try again" with the same link); after any other, only a new link helps,
 * and `view_pin_error` or `set_pin_error` follows.
 */
export type ErrorCode =
  | "no_network"
  | "service_unavailable"
  | "no_pin"
  | "link_expired"
  | "link_invalid"
  | "too_many_attempts"
  | "wrong_page"
  | "wrong_host"
  | "link_missing"
  | "failed";

/** A message from the widget, as a framing page receives it through `postMessage`. */
export type WidgetMessage =
  | { event: OutcomeEvent }
  /** Sent on every change of the set-PIN form: whether it may be submitted. */
  | { event: "pin_valid"; pin_valid: boolean }
  /** A flow stopped; sent before `view_pin_error` / `set_pin_error`, which follow only when a new link is needed. */
  | { event: "error"; code: ErrorCode }
  /** The unused link expires in 10 seconds: fetch a fresh one from your backend now. */
  | { event: "token_expiring" }
  /** The unused link has expired: open the fresh one. */
  | { event: "token_expired" }
  /** The height of the widget's content in CSS pixels, whenever it changes (desktop iframes only). */
  | { event: "resize"; height: number };

export type WidgetEvent = WidgetMessage["event"];

/** A command from the host: submit the set-PIN form. */
export interface SetPinCommand {
  event: "set_pin";
}

/**
 * Android: an object added with `addJavascriptInterface(handler, "android_handler")`. Each method is
 * an `@JavascriptInterface`; the widget calls the ones that exist.
 */
export interface AndroidHandler {
  view_pin_success?(): void;
  view_pin_error?(): void;
  set_pin_success?(): void;
  set_pin_error?(): void;
  set_pin_validation_error?(): void;
  pin_valid?(valid: boolean): void;
  /** Called only when the host defines it: older hosts keep working without it. */
  error?(code: ErrorCode): void;
  token_expiring?(): void;
  token_expired?(): void;
}

/** iOS: a `WKScriptMessageHandler` added under the name `ios_handler`. */
export interface IosHandler {
  postMessage(message: Exclude<WidgetMessage, { event: "resize" }>): void;
}

declare global {
  interface Window {
    android_handler?: AndroidHandler;
    webkit?: { messageHandlers?: { ios_handler?: IosHandler } };
    /** Installed by the widget on the set page once the form is up: submits it (Android, iOS). */
    set_pin?: () => void;
  }
}

/** Options of the desktop helper's `mountPinframe` (src/pinframe-host.js). */
export interface MountOptions {
  /** Where the iframe goes; its children are replaced. */
  container: Element;
  /** The `url` that `POST /api/v1/pin-control/tokens` returned (token in the fragment). */
  url: string;
  /** The iframe's accessible name; say it in the page's language. Default "Card PIN". */
  title?: string;
  /** Called with every message from the widget. */
  onEvent?: (message: WidgetMessage) => void;
  /** The smallest height the frame shrinks to, in CSS pixels. Default 0. */
  minHeight?: number;
}

export interface PinframeHandle {
  frame: HTMLIFrameElement;
  /** Sends `{event: "set_pin"}` to the widget's origin. */
  setPin(): void;
  /** Stops listening and removes the frame. */
  destroy(): void;
}

export declare function mountPinframe(options: MountOptions): PinframeHandle;
