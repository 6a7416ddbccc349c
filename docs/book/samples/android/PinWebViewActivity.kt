// pinframe host kit: Android WebView, through WebView.addJavascriptInterface. The widget calls
// window.android_handler.<event>() for each event (the protocol's "Host events and commands");
// PinframeHandler is that object, added under the name android_handler. The app submits the
// set-PIN form with WebView.evaluateJavascript, calling the page's global set_pin().
// Handler methods run on a WebView thread: each posts to the main thread, and acts only while the
// webview shows the widget's own origin.
package com.example.bank.pin

import android.annotation.SuppressLint
import android.net.Uri
import android.os.Bundle
import android.view.WindowManager
import android.webkit.JavascriptInterface
import android.webkit.WebResourceRequest
import android.webkit.WebView
import android.webkit.WebViewClient
import androidx.appcompat.app.AppCompatActivity

class PinWebViewActivity : AppCompatActivity() {
    private lateinit var webView: WebView

    /** The `url` this activity opened: its scheme and authority are the widget's origin. */
    private lateinit var widget: Uri

    /** The last `error` code, e.g. "no_pin": the card has no PIN yet. */
    private var lastError: String? = null

    /** A fresh url, asked for on token_expiring and opened on token_expired. */
    private var freshUrl: String? = null

    /** The widget's events; names and arguments exactly as in @pinframe/host's AndroidHandler. */
    inner class PinframeHandler {
        @JavascriptInterface fun view_pin_success() = fromWidget { /* the PIN is on screen */ }
        @JavascriptInterface fun view_pin_error() = fromWidget { offerNewLink() }
        @JavascriptInterface fun set_pin_success() = fromWidget { /* the new PIN is set: say so, then close */ }
        @JavascriptInterface fun set_pin_error() = fromWidget { offerNewLink() }
        @JavascriptInterface fun set_pin_validation_error() = fromWidget { /* the widget shows why */ }
        @JavascriptInterface fun pin_valid(valid: Boolean) = fromWidget { setPinButtonEnabled(valid) }
        /** Why a flow stopped; before view_pin_error or set_pin_error when only a new link helps. */
        @JavascriptInterface fun error(code: String) = fromWidget { lastError = code }
        /** The unused link expires in 10 s: ask your back end for a fresh one now. */
        @JavascriptInterface fun token_expiring() = fromWidget { requestFreshUrl { freshUrl = it } }
        @JavascriptInterface fun token_expired() = fromWidget { openFreshUrl() }
    }

    @SuppressLint("SetJavaScriptEnabled")
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // The PIN stays out of screenshots, screen recordings and the recent-apps thumbnail.
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
        // The `url` your back end got from POST /api/v1/pin-control/tokens, without parentOrigin.
        // Never log it: its fragment is the token.
        val url = intent.getStringExtra(EXTRA_URL) ?: return finish()
        widget = Uri.parse(url)
        webView = WebView(this)
        setContentView(webView)
        // The widget is WebAssembly and JavaScript.
        webView.settings.javaScriptEnabled = true
        // Nothing else the page could reach: no files, no content URIs.
        webView.settings.allowFileAccess = false
        webView.settings.allowContentAccess = false
        // Lets a reload of the page carry on with the same link (kept in session storage).
        webView.settings.domStorageEnabled = true
        webView.addJavascriptInterface(PinframeHandler(), "android_handler")
        webView.webViewClient = object : WebViewClient() {
            // Stay on the PIN page: the widget never navigates, and no other page gets the interface.
            override fun shouldOverrideUrlLoading(view: WebView, request: WebResourceRequest) = true
        }
        webView.loadUrl(url)
    }

    /** The app's own "Set PIN" button: submits the widget's form. */
    fun setPin() = webView.evaluateJavascript("window.set_pin && window.set_pin()", null)

    /** Runs [action] on the main thread, and only while the webview shows the widget's origin: the
     *  interface is there for whatever page the webview holds. */
    private fun fromWidget(action: () -> Unit) = runOnUiThread {
        val page = webView.url?.let(Uri::parse)
        if (page != null && page.scheme == widget.scheme && page.authority == widget.authority) action()
    }

    /** Only a new link helps. lastError says why: for "no_pin", offer to set a PIN instead. */
    private fun offerNewLink() { /* a button that asks your back end for a new url */ }

    private fun setPinButtonEnabled(valid: Boolean) { /* enable the app's own "Set PIN" button */ }

    /** Asks your back end for a new url: the same cardId and action, still no parentOrigin. */
    private fun requestFreshUrl(onUrl: (String) -> Unit) { /* your HTTP client; onUrl on the main thread */ }

    private fun openFreshUrl() {
        val url = freshUrl ?: return offerNewLink()
        freshUrl = null
        widget = Uri.parse(url)
        webView.loadUrl(url)
    }

    override fun onDestroy() {
        if (::webView.isInitialized) webView.destroy()
        super.onDestroy()
    }

    companion object { const val EXTRA_URL = "pinframe_url" }
}
