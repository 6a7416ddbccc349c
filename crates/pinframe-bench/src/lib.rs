//! Shared by the `make bench` programs: medians, percentiles and the one-line JSON they print.
#![forbid(unsafe_code)]

use std::time::Duration;

/// The value at quantile `q` (0 to 1) of `sorted`, by the nearest-rank method.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// CPU seconds (user and system, every thread, living or gone) the process `pid` has used so far,
/// or this process's with `None`: fields 14 and 15 of `/proc/PID/stat`, in clock ticks of
/// `getconf CLK_TCK`. This is how the bench counts a process's CPU and nothing else's: the service's
/// views per CPU-second leave out the load generator's CPU, wherever the scheduler put either.
pub fn cpu_seconds(pid: Option<u32>) -> Result<f64, String> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_owned(), |pid| format!("/proc/{pid}/stat"));
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default().split_whitespace().collect();
    let tick =
        |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or(format!("{path}: no field {}", i + 3));
    Ok((tick(11)? + tick(12)?) as f64 / clock_ticks_per_s())
}

/// `getconf CLK_TCK`: the unit of `/proc/PID/stat`'s times (100 on Linux, whatever the kernel's HZ).
fn clock_ticks_per_s() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Milliseconds, to three decimals.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&sorted, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&sorted, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&sorted[..1], 0.99), Duration::from_millis(1));
        assert_eq!(quantile(&[], 0.99), Duration::ZERO);
    }

    #[test]
    fn cpu_seconds_grow_with_work() {
        let before = cpu_seconds(None).unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let used = cpu_seconds(None).unwrap() - before;
        assert!((0.05..1.0).contains(&used), "{used}");
        assert!(cpu_seconds(Some(std::process::id())).is_ok());
        assert!(cpu_seconds(Some(u32::MAX)).is_err());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }
}
