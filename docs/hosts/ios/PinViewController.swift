// pinframe host kit: iOS WKWebView, through WKUserContentController.add(_:name:). The widget posts
// {event, pin_valid?, code?} to window.webkit.messageHandlers.ios_handler (docs/protocol.md, "Host events
// and commands"); this controller is that WKScriptMessageHandler, added under the name ios_handler.
// The host submits the set-PIN form with WKWebView.evaluateJavaScript, calling the page's global
// set_pin().
import UIKit
import WebKit

final class PinViewController: UIViewController, WKScriptMessageHandler, WKNavigationDelegate {
    private let url: URL
    private var webView: WKWebView!
    /// The last `error` code (docs/protocol.md, "Error codes for hosts"); view_pin_error or
    /// set_pin_error follow it only when a new link is needed.
    private var lastError: String?

    /// `url`: what your backend got from POST /api/v1/pin-control/tokens. Never log it.
    init(url: URL) {
        self.url = url
        super.init(nibName: nil, bundle: nil)
    }

    required init?(coder: NSCoder) { nil }

    override func loadView() {
        let configuration = WKWebViewConfiguration()
        // A weak proxy would avoid the retain cycle; removed in deinit below.
        configuration.userContentController.add(self, name: "ios_handler")
        // Nothing persisted between PIN sessions.
        configuration.websiteDataStore = .nonPersistent()
        webView = WKWebView(frame: .zero, configuration: configuration)
        webView.navigationDelegate = self
        view = webView
    }

    override func viewDidLoad() {
        super.viewDidLoad()
        webView.load(URLRequest(url: url))
    }

    /// Submits the set-PIN form, as the host's own button.
    func setPin() {
        webView.evaluateJavaScript("window.set_pin && window.set_pin()")
    }

    // The widget's events; names exactly as in @pinframe/host's IosHandler
    // (packages/pinframe-host/src/index.d.ts).
    func userContentController(_ controller: WKUserContentController, didReceive message: WKScriptMessage) {
        guard message.name == "ios_handler",
              let body = message.body as? [String: Any],
              let event = body["event"] as? String else { return }
        switch event {
        case "view_pin_success", "set_pin_success":
            break // show "done", keep the page until the user leaves
        case "view_pin_error", "set_pin_error":
            break // offer to start again: a new token
        case "set_pin_validation_error":
            break // the widget shows the reason next to the field
        case "pin_valid":
            navigationItem.rightBarButtonItem?.isEnabled = (body["pin_valid"] as? Bool) ?? false
        case "error":
            lastError = body["code"] as? String // why a flow stopped, e.g. "no_pin"
        case "token_expiring":
            break // the unused link expires in 10 s: fetch a fresh url from your backend now
        case "token_expired":
            break // load the fresh url: webView.load(URLRequest(url: freshUrl))
        default:
            break // events added later are ignored
        }
    }

    // Stay on the PIN page.
    func webView(_ webView: WKWebView, decidePolicyFor action: WKNavigationAction,
                 decisionHandler: @escaping (WKNavigationActionPolicy) -> Void) {
        decisionHandler(action.request.url == url || action.navigationType == .other ? .allow : .cancel)
    }

    deinit {
        webView?.configuration.userContentController.removeScriptMessageHandler(forName: "ios_handler")
    }
}
