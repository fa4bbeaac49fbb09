//! Host key pinning: the server's key must match the task's `host_key` or an entry of the
//! client's `known_hosts_file`; new keys are trusted (and recorded) only when the client
//! says `insecure_accept_new_host_keys = true`.

use std::io::Write;
use std::path::Path;

use russh::keys::{HashAlg, PublicKey};

use super::config::HostKeyPin;

/// The `SHA256:...` fingerprint of a key, as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Why a server's key was refused; the message shows the fingerprint it offered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostKeyError {
    /// The key differs from the task's `host_key`.
    #[error(
        "host key of {endpoint} does not match the task's host_key: the server offered {offered} ({algorithm})"
    )]
    PinMismatch {
        endpoint: String,
        offered: String,
        algorithm: String,
    },
    /// `known_hosts_file` holds a different key of the same type for this host.
    #[error(
        "HOST KEY CHANGED for {endpoint}: the server offered {offered} ({algorithm}), which differs from line {line} of {file}"
    )]
    Changed {
        endpoint: String,
        offered: String,
        algorithm: String,
        file: String,
        line: usize,
    },
    /// Neither `host_key` nor `known_hosts_file` knows this host.
    #[error(
        "unknown host key for {endpoint}: the server offered {offered} ({algorithm}); pin it with the task's host_key, add it to the client's known_hosts_file, or set insecure_accept_new_host_keys"
    )]
    Unknown {
        endpoint: String,
        offered: String,
        algorithm: String,
    },
}

/// What the check needs besides the key.
#[derive(Debug, Clone, Copy)]
pub struct HostKeyPolicy<'a> {
    pub host: &'a str,
    pub port: u16,
    pub pin: Option<&'a HostKeyPin>,
    pub known_hosts: Option<&'a Path>,
    pub accept_new: bool,
}

/// Checks `offered` against the pin or the known_hosts file (recording it there on first use
/// when allowed).
pub fn verify(offered: &PublicKey, policy: HostKeyPolicy<'_>) -> Result<(), HostKeyError> {
    let endpoint = format!("{}:{}", policy.host, policy.port);
    let offered_fp = fingerprint(offered);
    let algorithm = offered.algorithm().to_string();
    if let Some(pin) = policy.pin {
        let matches = match pin {
            HostKeyPin::Fingerprint(fp) => *fp == offered_fp,
            HostKeyPin::PublicKey(key) => key.key_data() == offered.key_data(),
        };
        return if matches {
            Ok(())
        } else {
            Err(HostKeyError::PinMismatch {
                endpoint,
                offered: offered_fp,
                algorithm,
            })
        };
    }
    if let Some(file) = policy.known_hosts {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut changed = None;
        let mut keys = known_keys(&text, policy.host, policy.port);
        if text.contains("|1|") {
            // Hashed entries (`HashKnownHosts yes`): russh knows how to match those.
            let hashed =
                russh::keys::known_hosts::known_host_keys_path(policy.host, policy.port, file);
            keys.extend(hashed.unwrap_or_default());
        }
        for (line, key) in keys {
            if key.key_data() == offered.key_data() {
                return Ok(());
            }
            if key.algorithm() == offered.algorithm() && changed.is_none() {
                changed = Some(line);
            }
        }
        if let Some(line) = changed {
            return Err(HostKeyError::Changed {
                endpoint,
                offered: offered_fp,
                algorithm,
                file: file.display().to_string(),
                line,
            });
        }
        if policy.accept_new {
            if let Err(e) = append(file, policy.host, policy.port, offered) {
                tracing::warn!(file = %file.display(), error = %e, "recording a new host key failed");
            }
            tracing::warn!(%endpoint, fingerprint = %offered_fp, "trusting a new host key (insecure_accept_new_host_keys)");
            return Ok(());
        }
    } else if policy.accept_new {
        tracing::warn!(%endpoint, fingerprint = %offered_fp, "trusting a new host key (insecure_accept_new_host_keys, no known_hosts_file)");
        return Ok(());
    }
    Err(HostKeyError::Unknown {
        endpoint,
        offered: offered_fp,
        algorithm,
    })
}

/// The name OpenSSH files a host under: `host` on port 22, `[host]:port` otherwise.
fn host_entry(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The keys (with 1-based line numbers) that `known_hosts` text lists for the host.
/// Plain and wildcard (`*`, `?`) patterns and `!` negations are understood; `@revoked` and
/// `@cert-authority` lines are skipped, and hashed (`|1|`) entries are left to [`verify`].
pub fn known_keys(text: &str, host: &str, port: u16) -> Vec<(usize, PublicKey)> {
    let name = host_entry(host, port);
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(patterns), Some(kind), Some(data)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !patterns_match(patterns, &name) {
            continue;
        }
        if let Ok(key) = PublicKey::from_openssh(&format!("{kind} {data}")) {
            keys.push((i + 1, key));
        }
    }
    keys
}

fn patterns_match(patterns: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if glob(negated, name) {
                return false;
            }
        } else if glob(pattern, name) {
            matched = true;
        }
    }
    matched
}

/// OpenSSH's host pattern: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Appends `host key` to the known_hosts file (created when missing).
fn append(file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    let line = key
        .to_openssh()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let existing = std::fs::read(file).unwrap_or_default();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let sep = if existing.is_empty() || existing.ends_with(b"\n") {
        ""
    } else {
        "\n"
    };
    writeln!(f, "{sep}{} {line}", host_entry(host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPs1eOTPhmzLvCpwMBnnY7zG1qFu7DVoSak07egylZPQ";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILk7u4GrbEAurx2qVU2spONdpD7ihAkLrpeNnrnQG1u9";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).unwrap()
    }

    #[test]
    fn known_hosts_entries_match_host_and_port() {
        let text = format!(
            "# comment\n[127.0.0.1]:2222 {KEY_A}\nexample.org,10.0.0.* {KEY_B}\n@revoked * {KEY_A}\n"
        );
        assert_eq!(known_keys(&text, "127.0.0.1", 2222).len(), 1);
        assert!(known_keys(&text, "127.0.0.1", 22).is_empty());
        assert_eq!(known_keys(&text, "10.0.0.7", 22)[0].0, 3);
        assert_eq!(known_keys(&text, "EXAMPLE.org", 22).len(), 1);
        assert!(known_keys("!10.0.0.7,10.0.0.* x y", "10.0.0.7", 22).is_empty());
    }

    #[test]
    fn hashed_known_hosts_entries_match() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        std::fs::write(&file, format!("[127.0.0.1]:2222 {KEY_A}\n")).unwrap();
        let hashed = std::process::Command::new("ssh-keygen")
            .arg("-H")
            .arg("-f")
            .arg(&file)
            .output();
        if !hashed.is_ok_and(|o| o.status.success()) {
            eprintln!("skipping: ssh-keygen -H is not available");
            return;
        }
        assert!(std::fs::read_to_string(&file).unwrap().starts_with("|1|"));
        let policy = HostKeyPolicy {
            host: "127.0.0.1",
            port: 2222,
            pin: None,
            known_hosts: Some(&file),
            accept_new: false,
        };
        verify(&key(KEY_A), policy).unwrap();
        assert!(matches!(
            verify(&key(KEY_B), policy),
            Err(HostKeyError::Changed { .. })
        ));
    }

    #[test]
    fn verify_pins_known_hosts_and_tofu() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        let (a, b) = (key(KEY_A), key(KEY_B));
        let policy = HostKeyPolicy {
            host: "127.0.0.1",
            port: 2222,
            pin: None,
            known_hosts: Some(&file),
            accept_new: false,
        };
        let err = verify(&a, policy).unwrap_err();
        assert!(err.to_string().contains(&fingerprint(&a)), "{err}");
        // Trust on first use records the key; a different key afterwards is a change.
        verify(
            &a,
            HostKeyPolicy {
                accept_new: true,
                ..policy
            },
        )
        .unwrap();
        verify(&a, policy).unwrap();
        let err = verify(&b, policy).unwrap_err();
        assert!(
            matches!(err, HostKeyError::Changed { line: 1, .. }),
            "{err}"
        );
        // A pin wins over the file, by key or by fingerprint.
        let pin = HostKeyPin::Fingerprint(fingerprint(&b));
        verify(
            &b,
            HostKeyPolicy {
                pin: Some(&pin),
                ..policy
            },
        )
        .unwrap();
        let pin = HostKeyPin::PublicKey(Box::new(b.clone()));
        let err = verify(
            &a,
            HostKeyPolicy {
                pin: Some(&pin),
                ..policy
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains(&fingerprint(&a)), "{err}");
    }
}
