//! Reading `/proc`: which live processes belong to a process group, and whether a process
//! carries a given environment variable. Used to find (and verify) task processes left
//! behind by a crashed client, and by tests to check that a task's group is gone.

use std::path::Path;

/// The fields of `/proc/<pid>/stat` the client needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    /// `R`, `S`, `D`, `Z` (zombie), ...
    pub state: char,
    pub pgrp: i32,
}

/// Parses `/proc/<pid>/stat` text (the command name may contain spaces and parentheses).
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let (head, tail) = text.rsplit_once(')')?;
    let pid = head.split_whitespace().next()?.parse().ok()?;
    let mut fields = tail.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some(ProcStat { pid, state, pgrp })
}

/// PIDs of the non-zombie processes in process group `pgid`.
pub fn live_group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|text| parse_stat(&text))
        .filter(|s| s.pgrp == pgid && s.state != 'Z' && s.state != 'X')
        .map(|s| s.pid)
        .collect()
}

/// Whether process `pid` was started with `key=value` in its environment.
pub fn environ_has(pid: i32, key: &str, value: &str) -> bool {
    let path = Path::new("/proc").join(pid.to_string()).join("environ");
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let wanted = format!("{key}={value}");
    bytes
        .split(|b| *b == 0)
        .any(|entry| entry == wanted.as_bytes())
}

/// This boot's ID: processes recorded under another boot ID are long gone.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parses_names_with_spaces_and_parens() {
        let text = "1234 (my (odd) prog) S 1 1230 1230 0 -1 4194560 100 0 0 0";
        assert_eq!(
            parse_stat(text),
            Some(ProcStat {
                pid: 1234,
                state: 'S',
                pgrp: 1230
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn group_members_and_environment_of_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("NOMADISH_PROCFS_TEST", "yes")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let pgrp = nix::unistd::getpgrp().as_raw();
        assert!(live_group_members(pgrp).contains(&pid));
        assert!(environ_has(pid, "NOMADISH_PROCFS_TEST", "yes"));
        assert!(!environ_has(pid, "NOMADISH_PROCFS_TEST", "no"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!live_group_members(pgrp).contains(&pid));
        assert!(!boot_id().is_empty());
    }
}

/// Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`, fixed at 100 by Linux's ABI).
pub const USER_HZ: u64 = 100;

/// CPU time and memory of one process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcUsage {
    /// User-mode CPU time, in clock ticks.
    pub user_ticks: u64,
    /// Kernel-mode CPU time, in clock ticks.
    pub system_ticks: u64,
    /// Resident set size, in bytes.
    pub rss_bytes: u64,
}

/// Parses `utime` and `stime` (fields 14 and 15) from `/proc/<pid>/stat` text.
pub fn parse_cpu_ticks(text: &str) -> Option<(u64, u64)> {
    let (_, tail) = text.rsplit_once(')')?;
    // `tail` starts at field 3 (state): utime is field 14, stime field 15.
    let mut fields = tail.split_whitespace().skip(11);
    let user = fields.next()?.parse().ok()?;
    let system = fields.next()?.parse().ok()?;
    Some((user, system))
}

/// Parses `VmRSS` (kB) from `/proc/<pid>/status` text, in bytes.
pub fn parse_rss(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The CPU time and memory of a live process, if it exists.
pub fn usage(pid: i32) -> Option<ProcUsage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (user_ticks, system_ticks) = parse_cpu_ticks(&stat)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(ProcUsage {
        user_ticks,
        system_ticks,
        rss_bytes: parse_rss(&status).unwrap_or(0),
    })
}

/// The summed usage of every live process in process group `pgid`.
pub fn group_usage(pgid: i32) -> ProcUsage {
    live_group_members(pgid)
        .into_iter()
        .filter_map(usage)
        .fold(ProcUsage::default(), |acc, u| ProcUsage {
            user_ticks: acc.user_ticks + u.user_ticks,
            system_ticks: acc.system_ticks + u.system_ticks,
            rss_bytes: acc.rss_bytes + u.rss_bytes,
        })
}

#[cfg(test)]
mod usage_tests {
    use super::*;

    #[test]
    fn cpu_ticks_and_rss_parse_from_proc_text() {
        let stat = "42 (my (odd) cmd) S 1 42 42 0 -1 4194560 100 0 0 0 17 3 0 0 20 0 1 0 5";
        assert_eq!(parse_cpu_ticks(stat), Some((17, 3)));
        let status = "Name:\tsh\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(parse_rss(status), Some(1234 * 1024));
        assert!(group_usage(i32::MAX).rss_bytes == 0);
    }
}
