// @pinframe/host/react-native: the widget in a react-native-webview WebView. The widget's events
// arrive in onEvent, typed as in ../index.d.ts; `ref.current.setPin()` submits the set-PIN form.
// Type-checked against the real react, react-native and react-native-webview types
// (tsconfig.react-native.json).
import { forwardRef, useImperativeHandle, useRef } from "react";
import { WebView, type WebViewMessageEvent } from "react-native-webview";
import type { WidgetMessage } from "../index";
import { PINFRAME_BRIDGE, PINFRAME_SET_PIN } from "./bridge";

export type PinWebViewHandle = { setPin(): void };

type Props = {
  /** The `url` your backend got from POST /api/v1/pin-control/tokens. Never log it. */
  url: string;
  onEvent: (message: WidgetMessage) => void;
};

export const PinWebView = forwardRef<PinWebViewHandle, Props>(function PinWebView({ url, onEvent }, ref) {
  const webView = useRef<WebView>(null);
  useImperativeHandle(ref, () => ({ setPin: () => webView.current?.injectJavaScript(PINFRAME_SET_PIN) }));
  const origin = new URL(url).origin;
  return (
    <WebView
      ref={webView}
      source={{ uri: url }}
      originWhitelist={[origin]}
      injectedJavaScriptBeforeContentLoaded={PINFRAME_BRIDGE}
      incognito
      onMessage={(event: WebViewMessageEvent) => {
        // Only the widget's own page speaks here; anything else is ignored.
        if (!event.nativeEvent.url.startsWith(`${origin}/pin/`)) return;
        try {
          const message = JSON.parse(event.nativeEvent.data);
          if (typeof message?.event === "string") onEvent(message);
        } catch {
          /* not ours */
        }
      }}
    />
  );
});
