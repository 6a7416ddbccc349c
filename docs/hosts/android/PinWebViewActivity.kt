// pinframe host kit: Android WebView, through WebView.addJavascriptInterface. The widget calls
// window.android_handler.<event>() for each event (docs/protocol.md, "Host events and commands");
// this class's PinframeHandler is that object, added under the name android_handler. The host
// submits the set-PIN form with WebView.evaluateJavascript, calling the page's global set_pin().
// Handler methods run on a WebView thread: post to the main thread.
package com.example.bank.pin

import android.annotation.SuppressLint
import android.os.Bundle
import android.webkit.JavascriptInterface
import android.webkit.WebResourceRequest
import android.webkit.WebView
import android.webkit.WebViewClient
import androidx.appcompat.app.AppCompatActivity

class PinWebViewActivity : AppCompatActivity() {
    private lateinit var webView: WebView

    /** The widget's events; names and arguments exactly as in @pinframe/host's AndroidHandler
     *  (packages/pinframe-host/src/index.d.ts). */
    inner class PinframeHandler {
        @JavascriptInterface fun view_pin_success() = onEvent("view_pin_success")
        @JavascriptInterface fun view_pin_error() = onEvent("view_pin_error")
        @JavascriptInterface fun set_pin_success() = onEvent("set_pin_success")
        @JavascriptInterface fun set_pin_error() = onEvent("set_pin_error")
        @JavascriptInterface fun set_pin_validation_error() = onEvent("set_pin_validation_error")
        @JavascriptInterface fun pin_valid(valid: Boolean) = runOnUiThread { submitButtonEnabled(valid) }
        /** Why a flow stopped (docs/protocol.md, "Error codes for hosts"); before view_pin_error or
         *  set_pin_error, which follow only when a new link is needed. */
        @JavascriptInterface fun error(code: String) = runOnUiThread { lastError = code }
        /** The unused link expires in 10 s: ask your backend for a fresh one now. */
        @JavascriptInterface fun token_expiring() = onEvent("token_expiring")
        @JavascriptInterface fun token_expired() = onEvent("token_expired")
    }

    /** The last `error` code, e.g. "no_pin" to say the card has no PIN yet. */
    private var lastError: String? = null

    @SuppressLint("SetJavaScriptEnabled")
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        webView = WebView(this)
        setContentView(webView)
        webView.settings.javaScriptEnabled = true
        // Nothing else the page could reach: no files, no content URIs.
        webView.settings.allowFileAccess = false
        webView.settings.allowContentAccess = false
        webView.addJavascriptInterface(PinframeHandler(), "android_handler")
        webView.webViewClient = object : WebViewClient() {
            // Stay on the PIN page: any other navigation leaves the webview.
            override fun shouldOverrideUrlLoading(view: WebView, request: WebResourceRequest) = true
        }
        // The `url` your backend got from POST /api/v1/pin-control/tokens; never log it.
        webView.loadUrl(intent.getStringExtra(EXTRA_URL) ?: return finish())
    }

    /** Submits the set-PIN form, as the host's own button. */
    fun setPin() = webView.evaluateJavascript("window.set_pin && window.set_pin()", null)

    private fun onEvent(event: String) = runOnUiThread {
        when (event) {
            "view_pin_success", "set_pin_success" -> { /* show "done", keep the page until the user leaves */ }
            "view_pin_error", "set_pin_error" -> { /* offer to start again: a new token (lastError says why) */ }
            "token_expiring" -> { /* fetch a fresh url from your backend; load it on token_expired */ }
            "token_expired" -> { /* webView.loadUrl(freshUrl) */ }
            "set_pin_validation_error" -> { /* the widget shows the reason next to the field */ }
        }
    }

    private fun submitButtonEnabled(valid: Boolean) { /* enable the app's own "Set PIN" button */ }

    override fun onDestroy() {
        webView.destroy()
        super.onDestroy()
    }

    companion object { const val EXTRA_URL = "pinframe_url" }
}
