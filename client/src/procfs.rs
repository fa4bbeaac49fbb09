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
