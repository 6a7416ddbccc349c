//! The per-request pieces of the listener: a request body with a fixed deadline (a client sending
//! a byte a second cannot keep a request open, whatever the handler reads), and the guard that
//! counts a connection's requests in progress until their responses are sent.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

/// When a request's body must have arrived, and whether it failed to: the middleware answers 408
/// when it did.
#[derive(Clone, Debug)]
pub struct BodyDeadline(Arc<DeadlineState>);

#[derive(Debug)]
struct DeadlineState {
    at: Instant,
    expired: AtomicBool,
}

impl BodyDeadline {
    pub fn new(within: Duration) -> Self {
        Self(Arc::new(DeadlineState { at: Instant::now() + within, expired: AtomicBool::new(false) }))
    }

    /// Whether the body was still arriving when the deadline passed.
    pub fn expired(&self) -> bool {
        self.0.expired.load(Ordering::Acquire)
    }
}

/// The error a [`DeadlineBody`] ends with.
#[derive(Debug)]
pub struct BodyTimedOut;

impl fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl Error for BodyTimedOut {}

pin_project! {
    /// A request body that fails with [`BodyTimedOut`] once its deadline has passed.
    pub struct DeadlineBody<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        deadline: BodyDeadline,
    }
}

impl<B> DeadlineBody<B> {
    pub fn new(inner: B, deadline: BodyDeadline) -> Self {
        let sleep = tokio::time::sleep_until(deadline.0.at);
        Self { inner, sleep, deadline }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if Instant::now() >= this.deadline.0.at {
            this.deadline.0.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                if this.sleep.poll(cx).is_ready() {
                    this.deadline.0.expired.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// One request in progress on a connection; dropped when its response has been sent (or the
/// request abandoned).
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    pub fn begin(counter: Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter)
    }

    /// Keeps the request in progress until `body` has been sent; `done` runs then, first.
    pub fn attach<B, F: FnOnce() + Send + 'static>(self, body: B, done: F) -> GuardedBody<B> {
        GuardedBody { inner: body, done: Some(Box::new(done)), _guard: self }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project! {
    /// A response body that ends its request's [`InFlight`] when it is dropped.
    pub struct GuardedBody<B> {
        #[pin]
        inner: B,
        done: Option<Box<dyn FnOnce() + Send>>,
        _guard: InFlight,
    }

    impl<B> PinnedDrop for GuardedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(done) = this.project().done.take() {
                done();
            }
        }
    }
}

impl<B: Body> Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
