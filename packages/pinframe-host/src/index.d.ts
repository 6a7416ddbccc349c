// @pinframe/host: every event the pinframe widget sends its host and every command it takes
// (docs/protocol.md, "Host events and commands"). The fixed events (view_pin_success … pin_valid)
// plus `resize`, which only a framing page hears. Webview hosts get the same events through
// android_handler and ios_handler.

/** The widget's outcome events (docs/protocol.md, "Host events and commands"). */
export type OutcomeEvent =
  | "view_pin_success"
  | "view_pin_error"
  | "set_pin_success"
  | "set_pin_error"
  | "set_pin_validation_error";

/** A message from the widget, as a framing page receives it through `postMessage`. */
export type WidgetMessage =
  | { event: OutcomeEvent }
  /** Sent on every change of the set-PIN form: whether it may be submitted. */
  | { event: "pin_valid"; pin_valid: boolean }
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
