//! `pinframe issuer add | list | rotate-secret`: provisioning against the service's database.

use std::fmt;
use std::path::Path;

use pinframe_core::{IssuerId, PinPolicy};
use serde_json::json;
use zeroize::Zeroizing;

use pinframe_protocol::widget::PinPolicyJson;
use pinframe_protocol::Origin;
use pinframe_server::clock::{Clock, SystemClock};
use pinframe_server::credentials;

use crate::cli::{IssuerCommand, PolicyArgs};
use crate::store::{SqlStore, Store, StoreError};
use pinframe_server::config::DatabaseArgs;

#[derive(Debug)]
pub enum AdminError {
    Invalid(String),
    Exists(String),
    Unknown(String),
    Store(StoreError),
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(why) => f.write_str(why),
            Self::Exists(id) => write!(f, "issuer {id} already exists (use `pinframe issuer rotate-secret --id {id}`)"),
            Self::Unknown(id) => write!(f, "no issuer {id}"),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

async fn open(data_dir: &Path, database: &DatabaseArgs) -> Result<SqlStore, AdminError> {
    let config = database.config().map_err(|e| AdminError::Invalid(e.to_string()))?;
    if !config.is_postgres() {
        pinframe_server::startup::private_dir(data_dir).map_err(|e| AdminError::Invalid(e.to_string()))?;
    }
    Ok(SqlStore::open(&config, data_dir).await?)
}

fn policy(args: &PolicyArgs) -> Result<PinPolicy, AdminError> {
    PinPolicy::new(args.pin_min_length, args.pin_max_length, args.forbid_years)
        .map_err(|e| AdminError::Invalid(e.to_string()))
}

fn policy_json(policy: &PinPolicy) -> PinPolicyJson {
    PinPolicyJson::from(policy)
}

fn issuer_id(text: &str) -> Result<IssuerId, AdminError> {
    IssuerId::parse(text).map_err(|e| AdminError::Invalid(e.to_string()))
}

fn parse_origins(origins: &[String]) -> Result<Vec<Origin>, AdminError> {
    origins
        .iter()
        .map(|o| Origin::parse(o).ok_or_else(|| AdminError::Invalid(format!("not an http(s) origin: {o}"))))
        .collect()
}

/// What `issuer add` without `--origin` says on stderr: the issuer works, but no page can frame its
/// widget (its pages answer `frame-ancestors 'none'`) nor get its events, until an origin is added.
pub fn no_origin_warning(id: &IssuerId) -> String {
    format!(
        "warning: issuer {id} has no origin, so no web page can frame its PIN widget or receive its events \
         (apps that open the widget in a webview still work). Add one later, without a restart:\n  \
         pinframe issuer add-origin --id {id} --origin https://bank.example",
        id = id.as_str()
    )
}

/// Runs the command; returns what to print (which may hold a secret, hence `Zeroizing`).
pub async fn run(command: IssuerCommand) -> Result<Zeroizing<String>, AdminError> {
    match command {
        IssuerCommand::Add { id, origins, policy: policy_args, data_dir, database } => {
            let id = issuer_id(&id)?;
            let policy = policy(&policy_args)?;
            let origins = parse_origins(&origins)?;
            let store = open(&data_dir, &database).await?;
            if store.issuer(&id).await?.is_some() {
                return Err(AdminError::Exists(id.as_str().to_owned()));
            }
            // The client id is the issuer id: unique, and nothing secret.
            let secret = credentials::generate_secret();
            let hash = credentials::hash_secret(&secret);
            store.put_issuer(&id, id.as_str(), &hash, SystemClock.now()).await?;
            for origin in &origins {
                store.add_origin(&id, origin).await?;
            }
            store.set_policy(&id, &policy).await?;
            let out = json!({
                "issuerId": id.as_str(),
                "clientId": id.as_str(),
                "clientSecret": secret.as_str(),
                "origins": origins,
                "pinPolicy": policy_json(&policy),
            });
            if origins.is_empty() {
                eprintln!("{}", no_origin_warning(&id));
            }
            Ok(Zeroizing::new(format!("{out}\n")))
        }
        IssuerCommand::AddOrigin { id, origins, data_dir, database } => {
            let id = issuer_id(&id)?;
            let origins = parse_origins(&origins)?;
            let store = open(&data_dir, &database).await?;
            store.issuer(&id).await?.ok_or_else(|| AdminError::Unknown(id.as_str().to_owned()))?;
            for origin in &origins {
                store.add_origin(&id, origin).await?;
            }
            let all = store.origins(&id).await?;
            Ok(Zeroizing::new(format!("{}\n", json!({"issuerId": id.as_str(), "origins": all}))))
        }
        IssuerCommand::List { data_dir, database } => {
            let store = open(&data_dir, &database).await?;
            let mut out = String::new();
            for issuer in store.issuers().await? {
                let origins = store.origins(&issuer.id).await?;
                let line = json!({
                    "issuerId": issuer.id.as_str(),
                    "clientId": issuer.client_id,
                    "origins": origins,
                    "pinPolicy": policy_json(&issuer.policy),
                });
                out.push_str(&format!("{line}\n"));
            }
            Ok(Zeroizing::new(out))
        }
        IssuerCommand::SetPolicy { id, policy: policy_args, data_dir, database } => {
            let id = issuer_id(&id)?;
            let policy = policy(&policy_args)?;
            let store = open(&data_dir, &database).await?;
            store.issuer(&id).await?.ok_or_else(|| AdminError::Unknown(id.as_str().to_owned()))?;
            store.set_policy(&id, &policy).await?;
            Ok(Zeroizing::new(format!("{}\n", json!({"issuerId": id.as_str(), "pinPolicy": policy_json(&policy)}))))
        }
        IssuerCommand::RotateSecret { id, data_dir, database } => {
            let id = issuer_id(&id)?;
            let store = open(&data_dir, &database).await?;
            let issuer = store.issuer(&id).await?.ok_or_else(|| AdminError::Unknown(id.as_str().to_owned()))?;
            let secret = credentials::generate_secret();
            store.put_issuer(&id, &issuer.client_id, &credentials::hash_secret(&secret), SystemClock.now()).await?;
            let out = json!({"issuerId": id.as_str(), "clientId": issuer.client_id, "clientSecret": secret.as_str()});
            Ok(Zeroizing::new(format!("{out}\n")))
        }
    }
}
