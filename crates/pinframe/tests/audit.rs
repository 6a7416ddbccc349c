//! The audit trail on every backend the run has (SQLite always; PostgreSQL when
//! `PINFRAME_TEST_DATABASE_URL` names a cluster, as `make test-postgres` does): concurrent appends
//! leave intact chains, a changed or deleted record breaks verification at that record, two
//! processes with one replica id do not fork a chain, and retention purges oldest prefixes that
//! verification still accepts.

mod common;

use std::sync::Arc;

use common::{backends, db_config, Backend};
use pinframe::audit::check::{verify, Broken};
use pinframe::audit::{sql, Audit, AuditError, Entry, Event};
use pinframe::store::SqlStore;
use pinframe_core::IssuerId;
use pinframe_server::db::Db;
use pinframe_server::keys::MacKey;
use pinframe_server::with_pool;

const KEY: [u8; 32] = [0x5a; 32];
const NOW: i64 = 1_800_000_000;

/// A fresh database of `backend` and `handles` stores on it (on PostgreSQL each its own pool, as
/// replicas have; SQLite's one writer per file is per process, so there its handles share one).
async fn stores(backend: &Backend, handles: usize) -> (tempfile::TempDir, Vec<SqlStore>) {
    let dir = tempfile::tempdir().unwrap();
    let config = db_config(backend).await;
    let count = if config.is_postgres() { handles } else { 1 };
    let mut stores = Vec::new();
    for _ in 0..count {
        stores.push(SqlStore::open(&config, dir.path()).await.unwrap());
    }
    (dir, stores)
}

fn audit(store: &SqlStore, replica: &str) -> Arc<Audit> {
    Arc::new(Audit::new(store.db().clone(), MacKey::new(&KEY), replica.to_owned()))
}

fn entry(n: usize) -> Entry {
    Entry::new(Event::PinViewed, "ok").issuer(&IssuerId::parse("ISSUER0001").unwrap()).card(&format!("card-{n}"))
}

async fn broken(db: &Db) -> Vec<Broken> {
    let records = sql::records(db, None, None).await.unwrap();
    verify(&MacKey::new(&KEY), &records, false).unwrap().broken
}

async fn execute(db: &Db, statement: &str) -> u64 {
    with_pool!(db, write, |pool| sqlx::query(statement).execute(pool).await.unwrap().rows_affected())
}

#[tokio::test]
async fn concurrent_appends_make_intact_chains_that_name_a_changed_or_deleted_record() {
    for backend in backends() {
        let (_dir, stores) = stores(&backend, 2).await;
        let (one, two) = (audit(&stores[0], "replica-1"), audit(&stores[stores.len() - 1], "replica-2"));
        let mut tasks = Vec::new();
        for n in 0..32 {
            for audit in [&one, &two] {
                let audit = audit.clone();
                tasks.push(tokio::spawn(async move { audit.record(entry(n), NOW + n as i64).await }));
            }
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let db = stores[0].db();
        let records = sql::records(db, None, None).await.unwrap();
        assert_eq!(records.len(), 64, "{backend:?}");
        let report = verify(&MacKey::new(&KEY), &records, false).unwrap();
        assert_eq!((report.chains, report.broken.len()), (2, 0), "{backend:?}: {:?}", report.broken);
        assert_eq!(records.iter().filter(|r| r.replica == "replica-1").map(|r| r.seq).max(), Some(32));
        // Verified with another key, every chain is broken at its first record.
        let other = verify(&MacKey::new(&[1; 32]), &records, false).unwrap().broken;
        assert_eq!(other.iter().map(|b| b.seq).collect::<Vec<_>>(), vec![1, 1]);

        // One changed field breaks the chain at that record; changed back, it verifies again.
        execute(db, "UPDATE audit_log SET outcome = 'refused' WHERE replica = 'replica-1' AND seq = 10").await;
        let found = broken(db).await;
        assert_eq!(found.len(), 1, "{backend:?}: {found:?}");
        assert_eq!((found[0].replica.as_str(), found[0].seq), ("replica-1", 10));
        execute(db, "UPDATE audit_log SET outcome = 'ok' WHERE replica = 'replica-1' AND seq = 10").await;
        assert!(broken(db).await.is_empty(), "{backend:?}");

        // A deleted record breaks the chain at the one after it.
        assert_eq!(execute(db, "DELETE FROM audit_log WHERE replica = 'replica-2' AND seq = 20").await, 1);
        let found = broken(db).await;
        assert_eq!(found.len(), 1, "{backend:?}: {found:?}");
        assert_eq!((found[0].replica.as_str(), found[0].seq), ("replica-2", 21));
        // So does deleting a chain's oldest records without a retention purge.
        execute(db, "DELETE FROM audit_log WHERE replica = 'replica-1' AND seq < 3").await;
        let found = broken(db).await;
        assert_eq!((found[0].replica.as_str(), found[0].seq), ("replica-1", 3), "{found:?}");
    }
}

#[tokio::test]
async fn two_processes_with_one_replica_id_do_not_fork_the_chain() {
    for backend in backends() {
        let (_dir, stores) = stores(&backend, 2).await;
        let first = audit(&stores[0], "same");
        let second = audit(&stores[stores.len() - 1], "same");
        first.record(entry(1), NOW).await.unwrap();
        second.record(entry(2), NOW).await.unwrap();
        // `first` still holds seq 1 as its head: its next record collides on (replica, seq).
        assert!(matches!(first.record(entry(3), NOW).await, Err(AuditError::Collided)), "{backend:?}");
        assert!(matches!(first.record(entry(4), NOW).await, Err(AuditError::Collided)), "stays stopped");
        second.record(entry(5), NOW).await.unwrap();
        let records = sql::records(stores[0].db(), None, None).await.unwrap();
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3], "{backend:?}");
        assert!(broken(stores[0].db()).await.is_empty(), "{backend:?}");
    }
}

#[tokio::test]
async fn retention_purges_oldest_prefixes_that_verification_accepts() {
    for backend in backends() {
        let (_dir, stores) = stores(&backend, 1).await;
        let db = stores[0].db();
        let (live, gone) = (audit(&stores[0], "live"), audit(&stores[0], "gone"));
        for n in 0..10 {
            live.record(entry(n), 1_000 + n as i64).await.unwrap();
        }
        for n in 0..3 {
            gone.record(entry(n), 500 + n as i64).await.unwrap();
        }
        // Records before 1005 go: `live` keeps seq 6 on, `gone` (all older) goes whole.
        assert_eq!(live.purge(1_005, 2_000).await.unwrap(), 5 + 3, "{backend:?}");
        let records = sql::records(db, None, None).await.unwrap();
        assert!(records.iter().all(|r| r.replica == "live"), "{backend:?}");
        assert_eq!(records.first().map(|r| r.seq), Some(6));
        let purges = records.iter().filter(|r| r.event == Event::AuditPurged.as_str()).count();
        assert_eq!(purges, 2, "one record per chain purged");
        assert!(broken(db).await.is_empty(), "{backend:?}: {:?}", broken(db).await);

        // The replica whose chain went whole goes on from where it was: still intact.
        gone.record(entry(9), 2_001).await.unwrap();
        assert!(broken(db).await.is_empty(), "{backend:?}: {:?}", broken(db).await);

        // Deleting one more old record by hand is not a purge: the chain breaks at the new start.
        execute(db, "DELETE FROM audit_log WHERE replica = 'live' AND seq = 6").await;
        let found = broken(db).await;
        assert_eq!((found[0].replica.as_str(), found[0].seq), ("live", 7), "{backend:?}: {found:?}");
    }
}

#[tokio::test]
async fn a_rate_limit_run_is_one_record() {
    let (_dir, stores) = stores(&Backend::Sqlite, 1).await;
    let audit = audit(&stores[0], "r");
    let starts: Vec<bool> =
        [0, 1, 30, 59, 120, 121].iter().map(|t| audit.starts_refusing("k".into(), NOW + t)).collect();
    assert_eq!(starts, vec![true, false, false, false, true, false]);
    assert!(audit.starts_refusing("other".into(), NOW + 121));
}

#[test]
fn replicas_on_one_host_get_their_own_chain_by_default() {
    let args = pinframe::audit::AuditArgs::default();
    let (one, two) = (args.replica().unwrap(), args.replica().unwrap());
    assert_ne!(one, two);
    assert!(pinframe::audit::valid_replica(&one), "{one}");
    let given = pinframe::audit::AuditArgs { replica_id: Some("pin 1".into()), ..Default::default() };
    assert!(given.replica().is_err(), "a space is refused");
}

/// The sweep that records tokens expired unused: one statement, so that of many replicas sweeping
/// at once each expired token is noted exactly once, and a live one never.
#[tokio::test]
async fn each_expired_unused_token_is_noted_by_exactly_one_of_many_concurrent_sweeps() {
    use pinframe::store::{Store, TokenRecord};
    use pinframe_core::CardId;
    use pinframe_protocol::Action;

    for backend in backends() {
        let (_dir, stores) = stores(&backend, 4).await;
        let mut expired = 0;
        for i in 0..40 {
            let live = i % 4 == 0;
            let record = TokenRecord {
                hash: pinframe::token::new_token().hash,
                issuer: IssuerId::parse("ISSUER0001").unwrap(),
                card: CardId::parse(&format!("card-{i}")).unwrap(),
                action: Action::ViewPin,
                parent_origin: None,
                language: None,
                hide_after_seconds: None,
                allow_copy: false,
                created_at: NOW - 600,
                expires_at: if live { NOW + 300 } else { NOW - 1 },
                used: false,
                attempts: 0,
            };
            stores[0].insert_token(&record).await.unwrap();
            expired += usize::from(!live);
        }
        let sweeps: Vec<_> = (0..16)
            .map(|i| {
                let db = stores[i % stores.len()].db().clone();
                tokio::spawn(async move { sql::note_expired(&db, NOW).await.unwrap() })
            })
            .collect();
        let mut noted = Vec::new();
        for sweep in sweeps {
            noted.extend(sweep.await.unwrap());
        }
        assert_eq!(noted.len(), expired, "{backend:?}: each expired token once");
        noted.sort();
        noted.dedup();
        assert_eq!(noted.len(), expired, "{backend:?}: no token twice");
        assert_eq!(sql::note_expired(stores[0].db(), NOW).await.unwrap().len(), 0, "{backend:?}: nothing left");
    }
}
