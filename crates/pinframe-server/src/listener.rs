//! The listener both servers run, instead of `axum::serve`: every connection has a deadline for
//! its request headers, for its request body and for idling between requests; open connections
//! are capped below the process's file-descriptor limit; and `SIGTERM` drains within a deadline.
//!
//! At the cap, the listener pushes out the connection that has waited longest without a request in
//! progress, preferring connections that never completed a request, before it accepts the next
//! one; a connection is safe for its first [`GRACE`], time enough to send a request head. When no
//! connection can go, newcomers wait in the kernel's queue, in order. So a client that holds
//! sockets open without sending (or sends a byte a second) loses them to clients that send whole
//! requests, and a request in progress is never cut off for a newcomer.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use clap::Args;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use ipnet::IpNet;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::client::{client_address, ClientAddr};
use crate::lifecycle::Lifecycle;
use crate::timeouts::{BodyDeadline, DeadlineBody, InFlight};

/// Descriptors kept for everything but client connections: database files and pools, the CMS
/// client, log files, the blocking pool.
const RESERVED_DESCRIPTORS: u64 = 64;

/// How long a new connection (or one that just finished a request) is safe from being pushed out
/// at the cap: time for a client to send a request head. Slow or silent clients are pushed out
/// after it, so the cap turns over at least `cap / GRACE` times a second.
const GRACE: Duration = Duration::from_millis(100);

/// Largest request head (request line and headers) a connection may send.
const MAX_HEAD_BYTES: usize = 32 * 1024;

/// How a server's listener treats its connections (`pinframe serve` and `pinframe cms`).
#[derive(Debug, Clone, Args)]
pub struct ListenerArgs {
    /// Seconds a client has to send a request's headers once it connects (or starts a request).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout: u64,
    /// Seconds a client has to send a request's body once its headers have arrived; then 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub body_timeout: u64,
    /// Seconds a keep-alive connection may stay open between requests.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
    /// Most connections open at once; lowered at start to fit the open-file limit (`ulimit -n`).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Seconds requests in progress get to finish after SIGTERM before the process exits anyway.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub shutdown_timeout: u64,
    /// A network (CIDR, e.g. 10.0.0.0/8, or one address) of load balancers whose X-Forwarded-For
    /// is believed; repeat for several. Without it, a client's address is the connection's peer.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for ListenerArgs {
    fn default() -> Self {
        Self {
            header_timeout: 10,
            body_timeout: 30,
            idle_timeout: 60,
            max_connections: 1024,
            shutdown_timeout: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

fn parse_network(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not a network (CIDR such as 10.0.0.0/8) or an address"))
}

/// The open-file limit of this process (`RLIMIT_NOFILE`'s soft value), read from procfs.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Descriptors open now (after the databases are open).
fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64)
}

/// The connection cap: `wanted`, lowered so that connections cannot exhaust the descriptors.
pub fn connection_cap(wanted: u64) -> usize {
    let cap = match open_file_limit() {
        Some(limit) => {
            let room = limit.saturating_sub(open_descriptors() + RESERVED_DESCRIPTORS).max(8);
            if room < wanted {
                tracing::warn!(
                    wanted,
                    open_file_limit = limit,
                    cap = room,
                    "--max-connections lowered to fit the open-file limit (raise it with ulimit -n)"
                );
            }
            wanted.min(room)
        }
        None => wanted,
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// One open connection, as the cap and the deadlines see it.
#[derive(Debug)]
struct Connection {
    accepted: Instant,
    /// Milliseconds after `accepted` at which the last request finished.
    last_done_ms: AtomicU64,
    in_flight: Arc<AtomicUsize>,
    served: AtomicBool,
    /// Set once the connection has been told to close, so that it is not picked twice.
    closing: AtomicBool,
    close: tokio::sync::Notify,
}

impl Connection {
    fn close(&self) {
        if !self.closing.swap(true, Ordering::AcqRel) {
            self.close.notify_one();
        }
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && !self.closing.load(Ordering::Acquire)
    }

    /// When this connection is to be closed if nothing happens first; `None` while a request is
    /// in progress (its body has its own deadline).
    fn deadline(&self, args: &ListenerArgs) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(if self.served.load(Ordering::Acquire) {
            self.accepted
                + Duration::from_millis(self.last_done_ms.load(Ordering::Acquire))
                + Duration::from_secs(args.idle_timeout)
        } else {
            self.accepted + Duration::from_secs(args.header_timeout)
        })
    }

    fn finished_request(&self) {
        let elapsed = u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_done_ms.store(elapsed, Ordering::Release);
        self.served.store(true, Ordering::Release);
    }

    /// The order in which idle connections are pushed out: never-served first, then the one idle
    /// the longest.
    fn eviction_rank(&self) -> (bool, Instant) {
        let served = self.served.load(Ordering::Acquire);
        let since = self.accepted + Duration::from_millis(self.last_done_ms.load(Ordering::Acquire));
        (served, since)
    }
}

/// The open connections.
#[derive(Debug, Default)]
struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    all_closed: tokio::sync::Notify,
    /// Notified whenever a connection closes.
    changed: tokio::sync::Notify,
}

impl Registry {
    fn len(&self) -> usize {
        self.open.lock().map_or(0, |open| open.len())
    }

    fn insert(&self) -> (u64, Arc<Connection>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            accepted: Instant::now(),
            last_done_ms: AtomicU64::new(0),
            in_flight: Arc::new(AtomicUsize::new(0)),
            served: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            close: tokio::sync::Notify::new(),
        });
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, connection.clone());
            metrics::gauge!("pinframe_connections_open").set(open.len() as f64);
        }
        (id, connection)
    }

    fn remove(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
            metrics::gauge!("pinframe_connections_open").set(open.len() as f64);
            self.changed.notify_waiters();
            if open.is_empty() {
                self.all_closed.notify_waiters();
            }
        }
    }

    /// Connections open and not yet told to close.
    fn active(&self) -> usize {
        self.open.lock().map_or(0, |open| open.values().filter(|c| !c.closing.load(Ordering::Acquire)).count())
    }

    /// Closes the connection to push out for a newcomer: one without a request in progress that
    /// has had [`GRACE`] to send one. `false` when there is none.
    fn evict_one(&self) -> bool {
        let Ok(open) = self.open.lock() else { return false };
        let now = Instant::now();
        let victim = open
            .values()
            .filter(|c| c.idle() && now.saturating_duration_since(c.eviction_rank().1) >= GRACE)
            .min_by_key(|c| c.eviction_rank());
        match victim {
            Some(connection) => {
                connection.close();
                metrics::counter!("pinframe_connections_evicted_total").increment(1);
                true
            }
            None => false,
        }
    }

    /// Closes every connection without a request in progress (on shutdown).
    fn close_idle(&self) {
        if let Ok(open) = self.open.lock() {
            for connection in open.values().filter(|c| c.idle()) {
                connection.close();
            }
        }
    }
}

/// Serves `router` on `listener` until `lifecycle` starts draining (SIGTERM, Ctrl-C), then lets
/// requests in progress finish for up to `--shutdown-timeout` and returns.
pub async fn serve(listener: TcpListener, router: Router, args: ListenerArgs, lifecycle: Arc<Lifecycle>) {
    let cap = connection_cap(args.max_connections);
    let args = Arc::new(args);
    let registry = Arc::new(Registry::default());
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(args.header_timeout))
        .max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(Duration::from_secs(args.idle_timeout)));
    let builder = Arc::new(builder);

    loop {
        // At the cap, make room before accepting: push out a connection that has had its grace,
        // or wait (the kernel keeps the newcomers queued in order) until one closes or ages.
        if registry.active() >= cap {
            if !registry.evict_one() {
                metrics::counter!("pinframe_connections_waited_total").increment(1);
            }
            tokio::select! {
                biased;
                () = lifecycle.draining() => break,
                () = registry.changed.notified() => {}
                () = tokio::time::sleep(GRACE / 8) => {}
            }
            continue;
        }
        let accepted = tokio::select! {
            biased;
            () = lifecycle.draining() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (EMFILE/ENFILE) or a connection reset before it was
                // accepted: free a descriptor if that is the cause, and carry on.
                tracing::warn!(target: "pinframe::listener", error = %e, "accepting a connection failed");
                if matches!(e.raw_os_error(), Some(23 | 24)) {
                    registry.evict_one();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let (id, connection) = registry.insert();
        let task = ConnectionTask {
            builder: builder.clone(),
            router: router.clone(),
            args: args.clone(),
            lifecycle: lifecycle.clone(),
            connection,
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            task.run(stream, peer).await;
            registry.remove(id);
        });
    }
    drop(listener);

    registry.close_idle();
    let deadline = Duration::from_secs(args.shutdown_timeout);
    let drained = async {
        while registry.len() > 0 {
            let notified = registry.all_closed.notified();
            if registry.len() == 0 {
                break;
            }
            // Re-check now and then: a connection can close between the check and the wait.
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    };
    if tokio::time::timeout(deadline, drained).await.is_err() {
        tracing::warn!(
            target: "pinframe::listener",
            open = registry.len(),
            "shutdown deadline reached: closing the connections still open"
        );
    }
}

/// What one connection's task needs.
struct ConnectionTask {
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    args: Arc<ListenerArgs>,
    lifecycle: Arc<Lifecycle>,
    connection: Arc<Connection>,
}

impl ConnectionTask {
    async fn run(self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let Self { builder, router, args, lifecycle, connection } = self;
        let service = {
            let args = args.clone();
            let connection = connection.clone();
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let router = router.clone();
                let guard = InFlight::begin(connection.in_flight.clone());
                let connection = connection.clone();
                let args = args.clone();
                async move {
                    let response = handle(router, request, peer, &args).await;
                    Ok::<_, Infallible>(
                        response.map(|body| Body::new(guard.attach(body, move || connection.finished_request()))),
                    )
                }
            })
        };
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let mut conn = pin!(conn);
        let mut draining = false;
        loop {
            let deadline = connection.deadline(&args);
            let far = Instant::now() + Duration::from_secs(86_400);
            tokio::select! {
                _ = conn.as_mut() => break,
                () = connection.close.notified() => break,
                () = tokio::time::sleep_until(deadline.unwrap_or(far)) => {
                    if connection.deadline(&args).is_some_and(|d| d <= Instant::now()) {
                        break;
                    }
                }
                () = lifecycle.draining(), if !draining => {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Runs one request through the router: the client's address and the body's deadline go in, and
/// the deadline's flag stays in the request for the middleware to answer 408.
async fn handle(
    router: Router,
    request: Request<Incoming>,
    peer: SocketAddr,
    args: &ListenerArgs,
) -> axum::response::Response {
    let client = client_address(request.headers(), peer.ip(), &args.trusted_proxies);
    let deadline = BodyDeadline::new(Duration::from_secs(args.body_timeout));
    let mut request = request.map(|body| Body::new(DeadlineBody::new(body, deadline.clone())));
    let extensions = request.extensions_mut();
    extensions.insert(ConnectInfo(peer));
    extensions.insert(ClientAddr(client));
    extensions.insert(deadline);
    router.oneshot(request).await.unwrap_or_else(|never| match never {})
}
