//! A view or set whose audit record cannot be written fails closed, on every backend: 503
//! `audit_unavailable`, no PIN shown or written, and the token still good once the audit trail
//! takes records again.

mod common;

use axum::http::StatusCode;
use common::*;
use pinframe::audit::sql;
use pinframe::demo;
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CardId, CorrelationId, IssuerId};
use pinframe_server::db::Db;
use pinframe_server::with_pool;
use serde_json::json;

/// Makes every insert into `audit_log` fail (`true`) or succeed again (`false`), by a trigger.
async fn refuse_audit(db: &Db, refuse: bool) {
    let statements: &[&str] = match (db, refuse) {
        (Db::Sqlite(_), true) => {
            &["CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'refused'); END"]
        }
        (Db::Sqlite(_), false) => &["DROP TRIGGER audit_refused"],
        (Db::Postgres(_), true) => &[
            "CREATE FUNCTION audit_refused() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_refused()",
        ],
        (Db::Postgres(_), false) => &["DROP TRIGGER audit_refused ON audit_log", "DROP FUNCTION audit_refused()"],
    };
    for statement in statements {
        with_pool!(db, write, |pool| sqlx::query(statement).execute(pool).await.map(drop).unwrap());
    }
}

async fn counter(h: &Harness) -> u64 {
    let (issuer, card) = (IssuerId::parse(demo::ISSUER).unwrap(), CardId::parse(demo::CARD).unwrap());
    h.state.cms.change_counter(&issuer, &card, &CorrelationId::parse("test").unwrap()).await.unwrap()
}

#[tokio::test]
async fn views_and_sets_without_their_audit_record_show_and_write_nothing() {
    for backend in backends() {
        let h = harness_on(&backend).await;
        let db = h.state.audit.db().clone();
        let view = h.token("VIEW_PIN").await;
        let set = h.token("SET_PIN").await;
        let before = counter(&h).await;
        let records = sql::records(&db, None, None).await.unwrap().len();

        refuse_audit(&db, true).await;
        let (_, epk) = ephemeral();
        let refused = h.view(&view, epk.clone()).await;
        assert_error(&refused, StatusCode::SERVICE_UNAVAILABLE, "audit_unavailable");
        assert!(refused.body.get("encryptedPin").is_none(), "{backend:?}");
        let key = h.state.keys.public_key(h.state.clock.now());
        let pin = jwe::encrypt(&key, json!({ "pin": "8642" }).to_string().as_bytes(), &mut OsRng);
        let body = json!({ "encryptedPin": pin });
        let refused = h.post("/api/v1/pin/set", Some(&format!("Bearer {set}")), Some(body.clone())).await;
        assert_error(&refused, StatusCode::SERVICE_UNAVAILABLE, "audit_unavailable");
        assert_eq!(counter(&h).await, before, "{backend:?}: no PIN was written");

        // Once records can be written again, the same tokens work: neither was used up.
        refuse_audit(&db, false).await;
        let (key, epk) = ephemeral();
        let shown = h.view(&view, epk).await;
        assert_eq!(shown.status, StatusCode::OK, "{backend:?}: {}", shown.text);
        assert!(jwe::decrypt(&key, shown.body["encryptedPin"].as_str().unwrap()).is_ok());
        let done = h.post("/api/v1/pin/set", Some(&format!("Bearer {set}")), Some(body)).await;
        assert_eq!(done.status, StatusCode::NO_CONTENT, "{backend:?}: {}", done.text);
        assert_eq!(counter(&h).await, before + 1, "{backend:?}");

        let events: Vec<String> =
            sql::records(&db, None, None).await.unwrap()[records..].iter().map(|r| r.event.clone()).collect();
        assert_eq!(events, ["pin_viewed", "pin_set", "pin_set"], "{backend:?}");
    }
}
