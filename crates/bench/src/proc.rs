//! `/proc` readings: resident memory and CPU time of a process (the server, and the
//! generator itself, since both share this machine's two cores), and whole-machine CPU
//! use, so every result says who was busy. Linux only, by design.

use anyhow::{bail, Context};

/// Clock ticks per second of `/proc/<pid>/stat` times. Linux fixes USER_HZ at 100 on
/// every architecture we run on; reading it with `sysconf` would need `unsafe`.
const TICKS_PER_S: f64 = 100.0;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Peak resident set size so far (VmHWM), bytes.
    pub rss_peak_bytes: u64,
    /// User + system CPU time, seconds.
    pub cpu_s: f64,
    /// Threads.
    pub threads: u64,
}

/// Reads `/proc/<pid>` (`pid` None: this process).
pub fn sample(pid: Option<u32>) -> anyhow::Result<ProcSample> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_owned(),
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat"))
        .with_context(|| format!("while reading {dir}/stat"))?;
    let status = std::fs::read_to_string(format!("{dir}/status"))
        .with_context(|| format!("while reading {dir}/status"))?;
    let (cpu_s, threads) = parse_stat(&stat)?;
    Ok(ProcSample {
        rss_bytes: status_kib(&status, "VmRSS:").unwrap_or(0) * 1024,
        rss_peak_bytes: status_kib(&status, "VmHWM:").unwrap_or(0) * 1024,
        cpu_s,
        threads,
    })
}

/// CPU seconds and thread count from a `stat` line. The command name is in parentheses
/// and may hold spaces, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> anyhow::Result<(f64, u64)> {
    let Some(end) = stat.rfind(')') else {
        bail!("unexpected /proc stat format");
    };
    // Fields from 3 (state) on; utime is field 14, stime 15, num_threads 20.
    let f: Vec<&str> = stat[end + 1..].split_whitespace().collect();
    if f.len() < 18 {
        bail!("short /proc stat line");
    }
    let utime: u64 = f[11].parse()?;
    let stime: u64 = f[12].parse()?;
    let threads: u64 = f[17].parse()?;
    Ok(((utime + stime) as f64 / TICKS_PER_S, threads))
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Whole-machine CPU counters from `/proc/stat`: (busy, total) ticks.
pub fn machine_cpu() -> anyhow::Result<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").context("while reading /proc/stat")?;
    let line = s.lines().next().unwrap_or_default();
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Ok((total.saturating_sub(idle), total))
}

/// The 1-minute load average, to note how busy the machine was before the run.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Number of online CPUs.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let line = "1234 (tokio rt (x)) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 17 0 0";
        let (cpu, threads) = parse_stat(line).unwrap();
        assert!((cpu - 3.0).abs() < 1e-9);
        assert_eq!(threads, 17);
    }

    #[test]
    fn reads_this_process() {
        let s = sample(None).unwrap();
        assert!(s.rss_bytes > 0 && s.threads >= 1);
        let (busy, total) = machine_cpu().unwrap();
        assert!(total >= busy && total > 0);
    }
}
