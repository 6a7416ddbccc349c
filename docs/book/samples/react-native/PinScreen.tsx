// A React Native screen that shows the pinframe widget with @pinframe/host's PinWebView. The app's
// back end asks pinframe for the token without parentOrigin and hands the app the `url`.
import { useRef, useState } from "react";
import { Button, Text, View } from "react-native";
import type { ErrorCode, WidgetMessage } from "@pinframe/host";
import { PinWebView, type PinWebViewHandle } from "@pinframe/host/react-native";

type Props = {
  /** "SET_PIN" shows the app's own submit button. */
  action: "VIEW_PIN" | "SET_PIN";
  /** The first url, fetched for this screen; never log it. */
  url: string;
  /** Asks your back end for a new url: the same cardId and action, still no parentOrigin. */
  pinLink: () => Promise<string>;
  onDone: () => void;
};

export function PinScreen({ action, url: firstUrl, pinLink, onDone }: Props) {
  const widget = useRef<PinWebViewHandle>(null);
  const fresh = useRef<Promise<string> | null>(null);
  const [url, setUrl] = useState(firstUrl);
  const [pinValid, setPinValid] = useState(false);
  const [lastError, setLastError] = useState<ErrorCode | null>(null);
  const [ended, setEnded] = useState<string | null>(null);

  const onEvent = (message: WidgetMessage) => {
    switch (message.event) {
      case "view_pin_success":
        break; // the PIN is on screen; the widget hides it again by itself
      case "set_pin_success":
        setEnded("Your new PIN is set.");
        break;
      case "set_pin_validation_error":
        setPinValid(false); // the widget shows why; the next change sends pin_valid
        break;
      case "pin_valid":
        setPinValid(message.pin_valid);
        break;
      case "error":
        setLastError(message.code); // no_network, service_unavailable: the widget offers "Try again"
        break;
      case "view_pin_error":
      case "set_pin_error":
        // Only a new link helps. A card without a PIN can get one through the set flow.
        setEnded(lastError === "no_pin" ? "This card has no PIN yet." : "Start again for a new link.");
        break;
      case "token_expiring":
        fresh.current = pinLink(); // ten seconds left: the next link is on its way
        break;
      case "token_expired":
        (fresh.current ?? pinLink()).then(setUrl, () => setEnded("The link expired. Start again."));
        fresh.current = null;
        break;
      case "resize":
        break; // only a framing web page hears it
    }
  };

  return (
    <View style={{ flex: 1 }}>
      {/* A new url, a new WebView: one token per view. */}
      <PinWebView key={url} ref={widget} url={url} onEvent={onEvent} />
      {ended !== null && <Text accessibilityRole="alert">{ended}</Text>}
      {action === "SET_PIN" && ended === null && (
        <Button
          title="Save the new PIN"
          disabled={!pinValid}
          onPress={() => {
            setPinValid(false); // until the answer, or the next change of the form
            widget.current?.setPin();
          }}
        />
      )}
      <Button title="Close" onPress={onDone} />
    </View>
  );
}
