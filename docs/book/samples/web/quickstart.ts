// The smallest page that frames the widget: `url` comes from the page's back end, which asked for
// the token with this page's origin as parentOrigin.
import { mountPinframe } from "@pinframe/host";

export function showPin(url: string): void {
  mountPinframe({
    container: document.querySelector<HTMLElement>("#pin")!,
    url,
    title: "Your card PIN",
    onEvent: (message) => console.log(message.event),
  });
}
