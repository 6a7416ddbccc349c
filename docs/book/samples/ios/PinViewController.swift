// pinframe host kit: iOS WKWebView, through WKUserContentController.add(_:name:). The widget posts
// {event, pin_valid?, code?} to window.webkit.messageHandlers.ios_handler (the protocol's "Host
// events and commands"); this controller is that WKScriptMessageHandler, added under the name
// ios_handler. The app submits the set-PIN form with WKWebView.evaluateJavaScript, calling the
// page's global set_pin().
import UIKit
import WebKit

final class PinViewController: UIViewController, WKScriptMessageHandler, WKNavigationDelegate {
    /// What your back end got from POST /api/v1/pin-control/tokens, without parentOrigin.
    /// Never log it: its fragment is the token.
    private var url: URL
    private var webView: WKWebView!
    /// The last `error` code, e.g. "no_pin": the card has no PIN yet.
    private var lastError: String?
    /// A fresh url, asked for on token_expiring and opened on token_expired.
    private var freshURL: URL?

    init(url: URL) {
        self.url = url
        super.init(nibName: nil, bundle: nil)
    }

    required init?(coder: NSCoder) { nil }

    override func loadView() {
        let configuration = WKWebViewConfiguration()
        // Nothing kept on disk between PIN sessions.
        configuration.websiteDataStore = .nonPersistent()
        webView = WKWebView(frame: .zero, configuration: configuration)
        webView.navigationDelegate = self
        view = webView
    }

    override func viewDidLoad() {
        super.viewDidLoad()
        // The app switcher's snapshot is taken as the app resigns active: cover the PIN first.
        let center = NotificationCenter.default
        center.addObserver(self, selector: #selector(cover), name: UIApplication.willResignActiveNotification, object: nil)
        center.addObserver(self, selector: #selector(uncover), name: UIApplication.didBecomeActiveNotification, object: nil)
        webView.load(URLRequest(url: url))
    }

    // The content controller keeps its handler strongly, and this controller keeps the webview:
    // the handler is added while the view is on screen and removed when it leaves, or neither
    // object is ever freed. (Adding a second handler under one name raises an exception.)
    override func viewWillAppear(_ animated: Bool) {
        super.viewWillAppear(animated)
        webView.configuration.userContentController.add(self, name: "ios_handler")
    }

    override func viewDidDisappear(_ animated: Bool) {
        super.viewDidDisappear(animated)
        webView.configuration.userContentController.removeScriptMessageHandler(forName: "ios_handler")
    }

    /// The app's own "Set PIN" button: submits the widget's form.
    func setPin() {
        webView.evaluateJavaScript("window.set_pin && window.set_pin()")
    }

    // The widget's events; names exactly as in @pinframe/host's IosHandler.
    func userContentController(_ controller: WKUserContentController, didReceive message: WKScriptMessage) {
        // Only the widget's own page, in the main frame, speaks here.
        let origin = message.frameInfo.securityOrigin
        guard message.name == "ios_handler", message.frameInfo.isMainFrame,
              origin.protocol == url.scheme, origin.host == url.host,
              let body = message.body as? [String: Any],
              let event = body["event"] as? String else { return }
        switch event {
        case "view_pin_success":
            break // the PIN is on screen
        case "set_pin_success":
            break // the new PIN is set: say so, then close
        case "view_pin_error", "set_pin_error":
            offerNewLink()
        case "set_pin_validation_error":
            break // the widget shows why next to the field
        case "pin_valid":
            navigationItem.rightBarButtonItem?.isEnabled = (body["pin_valid"] as? Bool) ?? false
        case "error":
            lastError = body["code"] as? String // why a flow stopped
        case "token_expiring":
            requestFreshURL { [weak self] fresh in self?.freshURL = fresh }
        case "token_expired":
            openFreshURL()
        default:
            break // events added later are ignored
        }
    }

    /// Only a new link helps. lastError says why: for "no_pin", offer to set a PIN instead.
    private func offerNewLink() { /* a button that asks your back end for a new url */ }

    /// Asks your back end for a new url: the same cardId and action, still no parentOrigin.
    private func requestFreshURL(_ done: @escaping (URL) -> Void) { /* your HTTP client; done on the main queue */ }

    private func openFreshURL() {
        guard let fresh = freshURL else { return offerNewLink() }
        freshURL = nil
        url = fresh
        webView.load(URLRequest(url: fresh))
    }

    @objc private func cover() { webView.isHidden = true }
    @objc private func uncover() { webView.isHidden = false }

    // Stay on the widget's origin: the widget itself never navigates elsewhere.
    func webView(_ webView: WKWebView, decidePolicyFor action: WKNavigationAction,
                 decisionHandler: @escaping (WKNavigationActionPolicy) -> Void) {
        let target = action.request.url
        let sameOrigin = target?.scheme == url.scheme && target?.host == url.host && target?.port == url.port
        decisionHandler(sameOrigin ? .allow : .cancel)
    }
}
