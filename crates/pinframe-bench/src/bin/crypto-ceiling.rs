//! The view's crypto alone, on every core: decrypt the CMS's PIN block (one ECDH), read the ISO 9564
//! format-0 block, and encrypt `{"pin":…}` to the widget's key (one JWE encrypt: a fresh ephemeral
//! key and one ECDH). The most views per second the service could reach if nothing else cost time.
//! Also counts its own CPU time over each run ([`pinframe_bench::cpu_seconds`]), for views per
//! CPU-second: the figure the service's views per CPU-second are held against.
//! Prints one JSON line: `{"threads":…,"per_s":…,"per_cpu_s":…,"runs":[…]}` (medians over the runs).
//! Usage: crypto-ceiling [--seconds S] [--runs N] [--threads T]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pinframe_core::pinblock::{decode_iso0, encode_iso0, hex_decode, hex_encode};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, Pan, Pin, PrivateJwk, PublicJwk};
use serde_json::json;

#[derive(Parser, Debug)]
struct Args {
    /// Length of one run.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Threads; by default one per core.
    #[arg(long)]
    threads: Option<usize>,
}

/// One view's crypto; returns the JWE for the widget.
fn view(service: &PrivateJwk, cms_block: &str, pan: &Pan, widget: &PublicJwk) -> String {
    let plaintext = jwe::decrypt(service, cms_block).expect("the block decrypts");
    let json: serde_json::Value = serde_json::from_slice(&plaintext).expect("the block is JSON");
    let bytes = hex_decode(json["pinBlock"].as_str().expect("a pinBlock")).expect("hex");
    let block: [u8; 8] = bytes.as_slice().try_into().expect("8 bytes");
    let pin = decode_iso0(&block, pan).expect("an ISO0 block for this PAN");
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(b"{\"pin\":\"");
    out.extend_from_slice(pin.as_bytes());
    out.extend_from_slice(b"\"}");
    jwe::encrypt(widget, &out, &mut OsRng)
}

fn main() {
    let args = Args::parse();
    let threads = args.threads.unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
    let service = Arc::new(PrivateJwk::generate(&mut OsRng));
    let widget = Arc::new(PrivateJwk::generate(&mut OsRng).public().clone());
    const PAN: &str = "5555555551234567";
    let pan = Pan::parse(PAN).expect("a PAN");
    let pin = Pin::parse("2468").expect("a PIN");
    let block = json!({"format": "ISO0", "pinBlock": hex_encode(&encode_iso0(&pin, &pan))}).to_string();
    let cms_block: Arc<str> = jwe::encrypt(service.public(), block.as_bytes(), &mut OsRng).into();
    // The work is checked once, so the loop measures something that works.
    let check = jwe::decrypt(&PrivateJwk::generate(&mut OsRng), &view(&service, &cms_block, &pan, &widget));
    assert!(check.is_err(), "another key must not decrypt the view's JWE");

    let mut rates = Vec::with_capacity(args.runs);
    let mut per_cpu = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (service, widget, cms_block) = (service.clone(), widget.clone(), cms_block.clone());
                let pan = Pan::parse(PAN).expect("a PAN");
                let (done, stop) = (done.clone(), stop.clone());
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::black_box(view(&service, &cms_block, &pan, &widget));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let start = Instant::now();
        let before = done.load(Ordering::Relaxed);
        let cpu_before = pinframe_bench::cpu_seconds(None).expect("this process's CPU time");
        thread::sleep(Duration::from_secs_f64(args.seconds));
        let count = done.load(Ordering::Relaxed) - before;
        let cpu = pinframe_bench::cpu_seconds(None).expect("this process's CPU time") - cpu_before;
        let elapsed = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            worker.join().expect("a worker panicked");
        }
        rates.push(count as f64 / elapsed);
        per_cpu.push(count as f64 / cpu);
    }
    let runs: Vec<_> =
        rates.iter().zip(&per_cpu).map(|(s, c)| json!({"per_s": s.round(), "per_cpu_s": c.round()})).collect();
    let per_s = pinframe_bench::median(&mut rates);
    let per_cpu_s = pinframe_bench::median(&mut per_cpu);
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{}",
            json!({"threads": threads, "per_s": per_s.round(), "per_cpu_s": per_cpu_s.round(), "runs": runs})
        );
    }
}
