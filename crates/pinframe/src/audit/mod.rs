//! The audit trail: one record per security event, in the service's database, each chained to the
//! one before it by an HMAC under the audit key (`crate::keys::Keys::audit`), so that whoever can
//! write the database but not read that key cannot rewrite history without `pinframe audit verify`
//! noticing.
//!
//! There is one chain per replica (`--replica-id`): each record carries its replica and a
//! per-replica sequence number, and `(replica, seq)` is the table's primary key. Replicas behind a
//! load balancer thus never wait on one chain head across the database; within a process, appends
//! queue on the chain head's mutex. Two processes misconfigured with one replica id collide on the
//! key, and the one that collides stops writing (every view and set then answers 503
//! `audit_unavailable`) instead of forking the chain.
//!
//! A view or set whose record cannot be written fails closed (no PIN shown, none set). The other
//! events are recorded as well as the database allows; a failure is logged.

pub mod check;
pub mod cli;
pub mod record;
pub mod sql;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use clap::Args;
use pinframe_core::rand_core::{OsRng, RngCore};
use pinframe_core::{CorrelationId, IssuerId};
use pinframe_server::client::ClientAddr;
use pinframe_server::clock::Clock;
use pinframe_server::db::Db;
use pinframe_server::error::AppError;
use pinframe_server::keys::MacKey;

pub use record::{Event, Record, GENESIS};

/// The audit options of `pinframe serve`.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// This process's audit chain: unique per running replica (1 to 64 of A-Z a-z 0-9 . _ -).
    /// Default: the host name and a random suffix, new at each start (a chain per run).
    #[arg(long, value_name = "ID", env = "PINFRAME_REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Days an audit record is kept; older records are deleted, oldest first, every hour.
    #[arg(long, value_name = "DAYS", default_value_t = 400, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub audit_retention_days: u32,
}

impl Default for AuditArgs {
    fn default() -> Self {
        Self { replica_id: None, audit_retention_days: 400 }
    }
}

/// Whether `id` may name a chain.
pub fn valid_replica(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl AuditArgs {
    /// The replica id: the flag's, else the host name (its allowed characters, else `local`) and 8
    /// random hex digits, so that replicas on one host never share a chain by default.
    pub fn replica(&self) -> Result<String, String> {
        if let Some(id) = &self.replica_id {
            return if valid_replica(id) {
                Ok(id.clone())
            } else {
                Err("--replica-id must be 1 to 64 of A-Z a-z 0-9 . _ -".to_owned())
            };
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let host: String = host
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(55)
            .collect();
        let host = if host.is_empty() { "local".to_owned() } else { host };
        Ok(format!("{host}-{:08x}", OsRng.next_u32()))
    }
}

/// Why a record could not be written.
#[derive(Clone, Debug)]
pub enum AuditError {
    /// The database or the key store did not take it (the message is for the log).
    Unavailable(String),
    /// Another process writes this replica's chain: this one stopped writing.
    Collided,
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "audit record not written: {why}"),
            Self::Collided => f.write_str("audit record not written: another process uses this --replica-id"),
        }
    }
}

impl From<AuditError> for AppError {
    fn from(e: AuditError) -> Self {
        AppError::Unavailable {
            code: "audit_unavailable",
            message: "The audit trail cannot be written now, so nothing was done: try again shortly.",
            detail: e.to_string(),
        }
    }
}

/// Who a request came from, for its record: the client address (trusted-proxy aware, as the rate
/// limits see it) and the correlation id.
#[derive(Clone, Debug)]
pub struct AuditCtx {
    pub source: IpAddr,
    pub correlation: Option<CorrelationId>,
}

impl AuditCtx {
    pub fn from_parts(parts: &Parts) -> Self {
        let source = parts.extensions.get::<ClientAddr>().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.0);
        Self { source, correlation: parts.extensions.get::<CorrelationId>().cloned() }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuditCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// A record to write: the event, its outcome and what it is about.
#[derive(Clone, Debug)]
pub struct Entry {
    event: Event,
    outcome: &'static str,
    issuer: Option<String>,
    card: Option<String>,
    client: Option<String>,
    source: Option<String>,
    correlation: Option<String>,
    detail: Option<String>,
}

impl Entry {
    pub fn new(event: Event, outcome: &'static str) -> Self {
        Self { event, outcome, issuer: None, card: None, client: None, source: None, correlation: None, detail: None }
    }

    /// The same record with another outcome (a set's `ok` or `failed` after its `started`).
    pub fn outcome(mut self, outcome: &'static str) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn issuer(mut self, issuer: &IssuerId) -> Self {
        self.issuer = Some(issuer.as_str().to_owned());
        self
    }

    pub fn card(mut self, card: &str) -> Self {
        self.card = Some(card.to_owned());
        self
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.client = Some(client_id.to_owned());
        self
    }

    /// Adds to the detail (words separated by spaces).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        self.detail = Some(match self.detail.take() {
            Some(before) => format!("{before} {detail}"),
            None => detail,
        });
        self
    }

    pub fn ctx(mut self, ctx: &AuditCtx) -> Self {
        self.source = Some(ctx.source.to_string());
        self.correlation = ctx.correlation.as_ref().map(|c| c.as_str().to_owned());
        self
    }
}

/// The head of this process's chain.
#[derive(Debug)]
enum Head {
    /// To be read from the database before the next append (at start, and after a failed write).
    Unknown,
    At {
        seq: i64,
        mac: Vec<u8>,
    },
    /// Another process wrote this chain: nothing more is written.
    Collided,
}

/// Seconds after which a limit refusing a key again counts as a new start of refusals.
const REFUSAL_QUIET: i64 = 60;

/// The audit trail of one running service.
pub struct Audit {
    db: Db,
    key: Arc<MacKey>,
    replica: Arc<str>,
    head: Arc<tokio::sync::Mutex<Head>>,
    /// Records waiting for the writer: whoever holds `head` next writes all of them in one
    /// transaction (a group commit), so concurrent views share one durable write.
    pending: Arc<std::sync::Mutex<Vec<Pending>>>,
    /// Rate-limited keys and when each was last refused: a flood is one record, not one a request.
    refused: std::sync::Mutex<HashMap<String, i64>>,
    /// The key ids last seen, to record a rotation when a reload brings others.
    keys: std::sync::Mutex<Option<String>>,
}

/// A record waiting to be written, and who waits for it.
struct Pending {
    entry: Entry,
    at: i64,
    done: tokio::sync::oneshot::Sender<Result<(), AuditError>>,
}

impl fmt::Debug for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Audit").field("replica", &self.replica).finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Audit {
    pub fn new(db: Db, key: MacKey, replica: String) -> Self {
        Self {
            db,
            key: Arc::new(key),
            replica: replica.into(),
            head: Arc::new(tokio::sync::Mutex::new(Head::Unknown)),
            pending: Arc::default(),
            refused: std::sync::Mutex::new(HashMap::new()),
            keys: std::sync::Mutex::new(None),
        }
    }

    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// The database the records go to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Appends `entry` at `now` to this replica's chain, and returns once it is durable (or
    /// could not be written). The write runs in a task of its own, so that a request that goes
    /// away cannot leave it half done: the chain head in memory always matches the database.
    pub async fn record(&self, entry: Entry, now: i64) -> Result<(), AuditError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        locked(&self.pending).push(Pending { entry, at: now, done });
        let (db, key, replica) = (self.db.clone(), self.key.clone(), self.replica.clone());
        let (head, pending) = (self.head.clone(), self.pending.clone());
        tokio::spawn(async move {
            let mut head = head.lock_owned().await;
            // Whatever waits now, ours included unless a writer before took it.
            let batch = std::mem::take(&mut *locked(&pending));
            if batch.is_empty() {
                return;
            }
            let outcome = write_batch(&db, &key, &replica, &mut head, batch).await;
            if outcome.is_err() {
                // What queued while this write was failing fails with it: a database that is down
                // would hold each further batch for another whole connection wait, and a request
                // must not wait longer than one.
                for waiting in std::mem::take(&mut *locked(&pending)) {
                    let _ = waiting.done.send(outcome.clone());
                }
            }
        });
        outcome.await.unwrap_or_else(|_| Err(AuditError::Unavailable("the audit writer stopped".to_owned())))
    }

    /// [`record`](Self::record) for the events that do not fail closed: a failure is logged.
    pub async fn note(&self, entry: Entry, now: i64) {
        let event = entry.event.as_str();
        if let Err(e) = self.record(entry, now).await {
            tracing::error!(target: "pinframe::audit", event, error = %e, "audit record lost");
        }
    }

    /// Whether a refusal of `key` by a rate limit at `now` starts a run of refusals (none in the
    /// last minute): only then is it recorded.
    pub fn starts_refusing(&self, key: String, now: i64) -> bool {
        let Ok(mut refused) = self.refused.lock() else { return true };
        if refused.len() > 10_000 {
            refused.retain(|_, at| now - *at <= REFUSAL_QUIET);
        }
        refused.insert(key, now).is_none_or(|last| now - last > REFUSAL_QUIET)
    }

    /// Remembers the key ids in use; when they differ from those remembered before, records the
    /// rotation (in the background: a reload is not async).
    pub fn keys_in_use(self: &Arc<Self>, summary: String, now: i64) {
        let changed = match self.keys.lock() {
            Ok(mut keys) => keys.replace(summary.clone()).is_some_and(|old| old != summary),
            Err(_) => false,
        };
        if changed {
            let audit = self.clone();
            let entry = Entry::new(Event::KeyRotated, "ok").detail(summary);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { audit.note(entry, now).await });
            }
        }
    }

    /// Deletes every chain's records older than `cutoff`, oldest first, and records each deletion
    /// (`audit_purged`, detail `replica=R first_seq=K`): verification accepts a chain that starts at
    /// K only on such a record. A chain whose newest record is older than `cutoff` goes whole.
    pub async fn purge(&self, cutoff: i64, now: i64) -> Result<u64, AuditError> {
        let unavailable = |e: pinframe_server::db::StoreError| AuditError::Unavailable(e.to_string());
        let mut total = 0;
        for (replica, newest, newest_at) in sql::chains(&self.db).await.map_err(unavailable)? {
            let first_kept = if newest_at < cutoff && *replica != *self.replica {
                newest + 1
            } else {
                // This replica's own chain keeps its head, which the next append chains to.
                let first = sql::first_since(&self.db, &replica, cutoff).await.map_err(unavailable)?;
                first.unwrap_or(newest).min(newest)
            };
            let deleted = sql::delete_before(&self.db, &replica, first_kept).await.map_err(unavailable)?;
            if deleted > 0 {
                total += deleted;
                let detail = format!("replica={replica} first_seq={first_kept} deleted={deleted}");
                self.record(Entry::new(Event::AuditPurged, "ok").detail(detail), now).await?;
            }
        }
        Ok(total)
    }

    /// Records each token that expired unused since the last sweep (one replica records each).
    pub async fn sweep_expired(&self, now: i64) -> Result<(), AuditError> {
        let expired = sql::note_expired(&self.db, now).await.map_err(|e| AuditError::Unavailable(e.to_string()))?;
        for (issuer, card) in expired {
            let mut entry = Entry::new(Event::TokenExpiredUnused, "expired").card(&card);
            entry.issuer = Some(issuer);
            self.record(entry, now).await?;
        }
        Ok(())
    }

    /// The background work of a running service: the expired-token sweep every 10 seconds, the
    /// retention purge every hour.
    pub fn spawn_tasks(self: &Arc<Self>, clock: Arc<dyn Clock>, retention_days: u32) {
        let audit = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            let mut ticks: u64 = 0;
            loop {
                tick.tick().await;
                let now = clock.now();
                if let Err(e) = audit.sweep_expired(now).await {
                    tracing::warn!(target: "pinframe::audit", error = %e, "recording expired tokens failed");
                }
                if ticks % 360 == 0 {
                    let cutoff = now - i64::from(retention_days) * 86_400;
                    match audit.purge(cutoff, now).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(target: "pinframe::audit", deleted = n, "audit retention purge"),
                        Err(e) => tracing::warn!(target: "pinframe::audit", error = %e, "audit retention purge failed"),
                    }
                }
                ticks += 1;
            }
        });
    }
}

/// Chains `batch` onto `head` and writes it in one transaction; tells each waiter the outcome, and
/// returns it.
async fn write_batch(
    db: &Db,
    key: &MacKey,
    replica: &str,
    head: &mut Head,
    batch: Vec<Pending>,
) -> Result<(), AuditError> {
    let outcome = chain_and_insert(db, key, replica, head, &batch).await;
    for pending in batch {
        let _ = pending.done.send(outcome.clone());
    }
    outcome
}

async fn chain_and_insert(
    db: &Db,
    key: &MacKey,
    replica: &str,
    head: &mut Head,
    batch: &[Pending],
) -> Result<(), AuditError> {
    let (mut seq, mut prev_mac) = match &*head {
        Head::At { seq, mac } => (*seq, mac.clone()),
        Head::Collided => return Err(AuditError::Collided),
        Head::Unknown => sql::head(db, replica)
            .await
            .map_err(|e| AuditError::Unavailable(e.to_string()))?
            .unwrap_or((0, GENESIS.to_vec())),
    };
    let mut records = Vec::with_capacity(batch.len());
    for pending in batch {
        let entry = pending.entry.clone();
        seq += 1;
        let mut record = Record {
            replica: replica.to_owned(),
            seq,
            at: pending.at,
            event: entry.event.as_str().to_owned(),
            outcome: entry.outcome.to_owned(),
            issuer: entry.issuer,
            card: entry.card,
            client: entry.client,
            source: entry.source,
            correlation: entry.correlation,
            detail: entry.detail,
            prev_mac,
            mac: Vec::new(),
        };
        record.mac = key.mac(&record.canonical()).map_err(|e| AuditError::Unavailable(e.to_string()))?.to_vec();
        prev_mac = record.mac.clone();
        records.push(record);
    }
    match sql::insert_all(db, &records).await {
        Ok(()) => {
            *head = Head::At { seq, mac: prev_mac };
            Ok(())
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            tracing::error!(target: "pinframe::audit", replica, seq,
                "another process writes this audit chain: --replica-id must differ per replica; audit writes stopped");
            *head = Head::Collided;
            Err(AuditError::Collided)
        }
        Err(e) => {
            *head = Head::Unknown;
            Err(AuditError::Unavailable(pinframe_server::db::StoreError::from(e).to_string()))
        }
    }
}
