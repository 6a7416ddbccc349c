//! Load on `POST /api/v1/pin/view` of a running `pinframe serve --demo`: complete views per second
//! and their latency percentiles, with tokens issued beforehand.
//!
//! The tokens are written straight into the service's database (`DIR/service.db`, or PostgreSQL
//! with `--database-url` / `PINFRAME_DATABASE_URL`) through its
//! store, as `POST /api/v1/pin-control/tokens` would write them: issuing them over HTTP would time
//! Argon2 (the issuer's Basic credentials) rather than the view. Each of the `--concurrency`
//! connections sends its own widget key, and the first answer on each is decrypted and checked.
//! With `--service-pid`, it also counts the service's CPU time over each run
//! ([`pinframe_bench::cpu_seconds`]): views per CPU-second of the service alone, the load
//! generator's own CPU left out.
//! Prints one JSON line: `{"per_s":…,"per_cpu_s":…,"p50_ms":…,"p99_ms":…,"runs":[…]}` (medians over
//! the runs; `per_cpu_s` null without `--service-pid`).
//! Usage: loadgen --url URL --data-dir DIR [--service-pid PID] [--database-url URL] [--requests N]
//! [--concurrency C] [--runs R]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use pinframe::cli::DatabaseArgs;
use pinframe::store::{SqlStore, Store, TokenRecord};
use pinframe::token;
use pinframe_bench::{cpu_seconds, median, millis, quantile};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CardId, IssuerId, PrivateJwk};
use pinframe_protocol::Action;
use serde_json::json;
use zeroize::Zeroizing;

#[derive(Parser, Debug)]
struct Args {
    /// The service, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: String,
    /// The service's data directory.
    #[arg(long)]
    data_dir: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Views per run.
    #[arg(long, default_value_t = 3000)]
    requests: usize,
    /// Views in flight at once, one connection each. The default, two per core of this machine,
    /// is where throughput stopped rising on 2 cores (552/s at 2, 731/s at 4, 769/s at 8 and
    /// 690/s at 16): more only queues, which measures the queue rather than the service.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Runs after one warm-up run; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The service's process, whose CPU time each run counts.
    #[arg(long)]
    service_pid: Option<u32>,
    /// The demo's PIN, which the checked answers must hold.
    #[arg(long, default_value = "2468")]
    pin: String,
}

struct Run {
    per_s: f64,
    /// Views per CPU-second of the service, with `--service-pid`.
    per_cpu_s: Option<f64>,
    latencies: Vec<Duration>,
}

async fn issue_tokens(store: &SqlStore, count: usize) -> Result<Vec<Zeroizing<String>>, String> {
    let issuer = IssuerId::parse(pinframe::demo::ISSUER).map_err(|e| e.to_string())?;
    let card = CardId::parse(pinframe::demo::CARD).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?;
    let now = i64::try_from(now.as_secs()).map_err(|e| e.to_string())?;
    let mut tokens = Vec::with_capacity(count);
    for _ in 0..count {
        let new = token::new_token();
        let record = TokenRecord {
            hash: new.hash,
            issuer: issuer.clone(),
            card: card.clone(),
            action: Action::ViewPin,
            parent_origin: None,
            language: None,
            hide_after_seconds: None,
            allow_copy: false,
            created_at: now,
            expires_at: now + 3600,
            used: false,
            attempts: 0,
        };
        store.insert_token(&record).await.map_err(|e| e.to_string())?;
        tokens.push(new.token);
    }
    Ok(tokens)
}

/// One connection's loop: takes the next token until there are none left.
async fn connection(
    client: reqwest::Client,
    view_url: String,
    tokens: Arc<[Zeroizing<String>]>,
    next: Arc<AtomicUsize>,
    expected: Arc<str>,
) -> Result<Vec<Duration>, String> {
    let key = PrivateJwk::generate(&mut OsRng);
    let body =
        json!({"epk": serde_json::from_str::<serde_json::Value>(&key.public().to_json()).map_err(|e| e.to_string())?})
            .to_string();
    let mut latencies = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(token) = tokens.get(i) else { return Ok(latencies) };
        let start = Instant::now();
        let response = client
            .post(&view_url)
            .bearer_auth(token.as_str())
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .map_err(|e| format!("view request: {e}"))?;
        let status = response.status();
        let answer = response.bytes().await.map_err(|e| format!("view answer: {e}"))?;
        latencies.push(start.elapsed());
        if status != 200 {
            return Err(format!("view answered {status}: {}", String::from_utf8_lossy(&answer)));
        }
        if latencies.len() == 1 {
            let answer: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
            let encrypted = answer["encryptedPin"].as_str().ok_or("no encryptedPin")?;
            let plaintext = jwe::decrypt(&key, encrypted).map_err(|_| "the answer does not decrypt")?;
            if *plaintext != *format!("{{\"pin\":\"{expected}\"}}").as_bytes() {
                return Err("the answer holds another PIN".to_owned());
            }
        }
    }
}

async fn run(args: &Args, client: &reqwest::Client, tokens: Vec<Zeroizing<String>>) -> Result<Run, String> {
    let tokens: Arc<[Zeroizing<String>]> = tokens.into();
    let next = Arc::new(AtomicUsize::new(0));
    let view_url = format!("{}/api/v1/pin/view", args.url.trim_end_matches('/'));
    let expected: Arc<str> = args.pin.as_str().into();
    let cpu = || args.service_pid.map(|pid| cpu_seconds(Some(pid))).transpose();
    let cpu_before = cpu()?;
    let start = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            tokio::spawn(connection(client.clone(), view_url.clone(), tokens.clone(), next.clone(), expected.clone()))
        })
        .collect();
    let mut latencies = Vec::with_capacity(tokens.len());
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_used = cpu()?.zip(cpu_before).map(|(after, before)| after - before);
    latencies.sort();
    let per_cpu_s = cpu_used.map(|used| latencies.len() as f64 / used);
    Ok(Run { per_s: latencies.len() as f64 / elapsed, per_cpu_s, latencies })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let config = args.database.config().map_err(|e| e.to_string())?;
    let store = SqlStore::open(&config, &args.data_dir).await.map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let warmup = (args.requests / 5).max(args.concurrency);
    run(&args, &client, issue_tokens(&store, warmup).await?).await?;

    let mut runs = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let tokens = issue_tokens(&store, args.requests).await?;
        runs.push(run(&args, &client, tokens).await?);
    }
    let summary: Vec<_> = runs
        .iter()
        .map(|r| {
            json!({
                "per_s": r.per_s.round(),
                "per_cpu_s": r.per_cpu_s.map(f64::round),
                "p50_ms": millis(quantile(&r.latencies, 0.50)),
                "p99_ms": millis(quantile(&r.latencies, 0.99)),
            })
        })
        .collect();
    let mut per_s: Vec<f64> = runs.iter().map(|r| r.per_s).collect();
    let mut per_cpu_s: Vec<f64> = runs.iter().filter_map(|r| r.per_cpu_s).collect();
    let per_cpu_s = (!per_cpu_s.is_empty()).then(|| median(&mut per_cpu_s).round());
    let mut p50: Vec<f64> = runs.iter().map(|r| millis(quantile(&r.latencies, 0.50))).collect();
    let mut p99: Vec<f64> = runs.iter().map(|r| millis(quantile(&r.latencies, 0.99))).collect();
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{}",
            json!({
                "requests": args.requests,
                "concurrency": args.concurrency,
                "per_s": median(&mut per_s).round(),
                "per_cpu_s": per_cpu_s,
                "p50_ms": median(&mut p50),
                "p99_ms": median(&mut p99),
                "runs": summary,
            })
        );
    }
    Ok(())
}
