//! What a process tree costs, read from Linux's `/proc`: the bot logs its own tree
//! (itself, Chromium, ffmpeg, Xvfb, PulseAudio) once a minute so an operator can size
//! machines from real numbers, and the benchmarks use the same readings.
//!
//! Memory is counted as PSS (proportional set size): shared pages are split between the
//! processes sharing them, so a tree's sum does not count Chromium's shared memory once
//! per renderer. Off Linux every reading is zero.

use std::collections::HashMap;

/// Clock ticks per second of `/proc/{pid}/stat`'s CPU times (USER_HZ; 100 on Linux).
pub const TICKS_PER_SEC: f64 = 100.0;

/// Resident set size of one process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    field_kib(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// Proportional set size of one process, in KiB.
pub fn pss_kib(pid: u32) -> u64 {
    field_kib(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

fn field_kib(path: &str, name: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The fields of `/proc/{pid}/stat` after the command name (`state` first).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command is in parentheses and may itself contain spaces or ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// CPU time (user + system) one process has used, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    // 1-based stat fields: utime is 14, stime 15; `stat_fields` starts at field 3.
    stat_fields(pid)
        .map(|f| {
            let at = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            at(14) + at(15)
        })
        .unwrap_or(0)
}

/// The executable's name of a process (`comm`, at most 15 bytes), e.g. `chrome`, `ffmpeg`.
pub fn name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `root` and every live process whose parent chain leads to it.
pub fn tree(root: u32) -> Vec<u32> {
    let mut parents = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
            parents.insert(pid, ppid);
        }
    }
    descendants(root, &parents)
}

fn descendants(root: u32, parents: &HashMap<u32, u32>) -> Vec<u32> {
    let mut found: Vec<u32> = parents
        .keys()
        .filter(|pid| {
            let mut p = **pid;
            for _ in 0..64 {
                if p == root {
                    return true;
                }
                match parents.get(&p) {
                    Some(pp) if *pp != p => p = *pp,
                    _ => return false,
                }
            }
            false
        })
        .copied()
        .collect();
    found.sort_unstable();
    found
}

/// One reading of a process tree, grouped by executable name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TreeUsage {
    /// `(name, cpu ticks, pss KiB)` per executable name, sorted by name.
    pub by_name: Vec<(String, u64, u64)>,
}

impl TreeUsage {
    /// Reads `root`'s tree now.
    pub fn read(root: u32) -> TreeUsage {
        let mut groups: HashMap<String, (u64, u64)> = HashMap::new();
        for pid in tree(root) {
            let entry = groups.entry(name(pid)).or_default();
            entry.0 += cpu_ticks(pid);
            entry.1 += pss_kib(pid);
        }
        let mut by_name: Vec<_> = groups.into_iter().map(|(n, (c, m))| (n, c, m)).collect();
        by_name.sort();
        TreeUsage { by_name }
    }

    pub fn cpu_ticks(&self) -> u64 {
        self.by_name.iter().map(|g| g.1).sum()
    }

    pub fn pss_kib(&self) -> u64 {
        self.by_name.iter().map(|g| g.2).sum()
    }

    /// CPU ticks used by `name`'s processes since `earlier` (processes that exited in
    /// between are not counted).
    pub fn ticks_since(&self, earlier: &TreeUsage, name: &str) -> u64 {
        let of = |u: &TreeUsage| u.by_name.iter().find(|g| g.0 == name).map(|g| g.1).unwrap_or(0);
        of(self).saturating_sub(of(earlier))
    }
}

/// Logs the bot's own tree (CPU over the last interval, PSS now) every `every` until the
/// task is dropped.
pub async fn log_usage_every(every: std::time::Duration) {
    let me = std::process::id();
    let mut last = (TreeUsage::read(me), std::time::Instant::now());
    loop {
        tokio::time::sleep(every).await;
        let now = (TreeUsage::read(me), std::time::Instant::now());
        let secs = (now.1 - last.1).as_secs_f64().max(0.001);
        let cores = now.0.cpu_ticks().saturating_sub(last.0.cpu_ticks()) as f64 / TICKS_PER_SEC / secs;
        let parts: Vec<String> = now
            .0
            .by_name
            .iter()
            .map(|(n, _, pss)| format!("{n} {} MB", pss / 1024))
            .collect();
        tracing::info!(
            cpu_percent = (cores * 1000.0).round() / 10.0,
            pss_mb = now.0.pss_kib() / 1024,
            processes = %parts.join(", "),
            "resource usage of the bot and its browser, recorder"
        );
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_follow_parent_chains_only() {
        let parents: HashMap<u32, u32> = [(2, 1), (3, 2), (4, 3), (5, 1), (6, 9), (9, 9)].into_iter().collect();
        assert_eq!(descendants(2, &parents), vec![2, 3, 4]);
        assert_eq!(descendants(9, &parents), vec![6, 9]);
        assert_eq!(descendants(7, &parents), Vec::<u32>::new());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process_and_a_child() {
        let me = std::process::id();
        assert!(rss_kib(me) > 0 && pss_kib(me) > 0);
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let usage = TreeUsage::read(me);
        child.kill().unwrap();
        child.wait().unwrap();
        // One reading: the tree's total holds the child and this process (other tests'
        // threads change this process's memory between two readings).
        let sleep = usage
            .by_name
            .iter()
            .find(|g| g.0 == "sleep")
            .expect("the child is in the tree");
        assert!(sleep.2 > 0 && usage.pss_kib() > sleep.2, "{usage:?}");
        // Burn some CPU and see it counted.
        let before = cpu_ticks(me);
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(300) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        assert!(cpu_ticks(me) > before);
    }
}
