// Put before the widget's loader by the service (widget_assets.rs): asks for the session as soon as
// the page runs, while the wasm is still on the network and compiling. The request needs the
// page's token and no key, and it is the one the widget would make first: the same path, headers
// and fetch options as its own (src/api.rs), which takes the answer once, only for the token it
// read itself. A page without `token=` in its fragment asks nothing here.
{
  const pair = location.hash.slice(1).split("&").find((p) => p.startsWith("token="));
  const token = pair?.slice("token=".length);
  if (token) {
    const correlationId = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const shared = { token, correlationId };
    // `{status, body, at}` once the answer is in (`at`: when it arrived, which the token's lifetime
    // counts from): the promise, and `settled` for the widget to read without waiting when it starts
    // after the answer came.
    shared.answer = fetch("/api/v1/pin/session", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "x-correlation-id": correlationId },
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    }).then(async (response) => {
      const at = Date.now();
      return (shared.settled = { status: response.status, body: await response.text(), at });
    });
    // The widget sees a failure when it takes the answer; unclaimed, it is not an uncaught error.
    shared.answer.catch(() => {});
    Object.defineProperty(window, "pinframeSession", { value: shared, configurable: true });
  }
}
