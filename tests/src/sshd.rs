//! A real OpenSSH server for tests: `sshd -D -e -f <config>` on 127.0.0.1 with a free port,
//! a fresh ed25519 host key and a fresh client key in `AuthorizedKeysFile`, killed on drop.
//!
//! Shared by the integration suites and the client crate's unit tests (which include this
//! file by path), so it uses only std and `tempfile`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the daemon.
pub const SSHD_BIN: &str = "/usr/sbin/sshd";

/// A running sshd.
pub struct Sshd {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The user tests log in as (the current user).
    pub user: String,
    /// The client private key the server accepts.
    pub client_key: PathBuf,
    /// The server's host public key, as an OpenSSH line (`ssh-ed25519 AAAA...`).
    pub host_key: String,
    /// The server's host key fingerprint (`SHA256:...`).
    pub host_fingerprint: String,
    /// A key the server does not have (for wrong-key tests), as an OpenSSH line.
    pub other_key: String,
    log: PathBuf,
    dir: tempfile::TempDir,
}

/// Whether the suites run in CI, where a missing component is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn keygen(path: &Path) -> Result<String, String> {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "nomadish-test", "-f"])
        .arg(path))?;
    let line = std::fs::read_to_string(path.with_extension("pub")).map_err(|e| e.to_string())?;
    Ok(line
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" "))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Sshd {
    /// Starts an sshd, or explains why it cannot: `None` (with the reason printed) outside
    /// CI, a panic in CI (`CI=true`).
    pub fn start() -> Option<Sshd> {
        match Self::try_start() {
            Ok(sshd) => Some(sshd),
            Err(reason) if in_ci() => panic!("sshd is required in CI: {reason}"),
            Err(reason) => {
                eprintln!("skipping: no usable sshd ({reason})");
                None
            }
        }
    }

    fn try_start() -> Result<Sshd, String> {
        if !Path::new(SSHD_BIN).exists() {
            return Err(format!("{SSHD_BIN} not found (install openssh-server)"));
        }
        let is_root = run(Command::new("id").arg("-u"))?.trim() == "0";
        // The privilege separation directory must exist even when it is not used.
        if !Path::new("/run/sshd").exists() {
            if is_root {
                std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
            } else {
                return Err("/run/sshd is missing and only root can create it".into());
            }
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let host_key_path = dir.path().join("host_ed25519");
        let host_key = keygen(&host_key_path)?;
        let client_key = dir.path().join("client_ed25519");
        let client_pub = keygen(&client_key)?;
        let other_key = keygen(&dir.path().join("other_ed25519"))?;
        let host_fingerprint = run(Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(host_key_path.with_extension("pub")))?
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
        let authorized = dir.path().join("authorized_keys");
        std::fs::write(&authorized, format!("{client_pub}\n")).map_err(|e| e.to_string())?;
        let user = run(Command::new("id").arg("-un"))?.trim().to_string();
        let port = free_port();
        let d = dir.path().display();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {}\nStrictModes no\nUsePAM no\nPubkeyAuthentication yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nLogLevel VERBOSE\nMaxSessions 50\n\
                 MaxStartups 50\nClientAliveInterval 0\n",
                host_key_path.display(),
                authorized.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let log = dir.path().join("sshd.log");
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = Command::new(SSHD_BIN)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("spawn {SSHD_BIN}: {e}"))?;
        let mut sshd = Sshd {
            child,
            port,
            user,
            client_key,
            host_key,
            host_fingerprint,
            other_key,
            log,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = sshd.child.try_wait() {
                return Err(format!("sshd exited ({status}): {}", sshd.log()));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(sshd);
            }
            if Instant::now() > deadline {
                return Err(format!("sshd did not listen within 10s: {}", sshd.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many logins the server accepted so far (one per SSH connection).
    pub fn logins(&self) -> usize {
        self.log().matches("Accepted publickey").count()
    }

    /// A scratch directory next to the server's files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A `known_hosts` line for this server (`[127.0.0.1]:port key`).
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_key)
    }

    /// Kills the per-connection server processes (not the listener), as a network failure
    /// would end every open connection; the commands they ran are left behind.
    pub fn drop_connections(&self) {
        for pid in descendants(self.child.id()) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sshd" {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

impl Sshd {
    /// Freezes (SIGSTOP) or thaws (SIGCONT) the per-connection server processes: a server
    /// that stops answering without closing its connections.
    pub fn freeze_connections(&self, frozen: bool) {
        let signal = if frozen { "-STOP" } else { "-CONT" };
        for pid in descendants(self.child.id()) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sshd" {
                let _ = Command::new("kill")
                    .args([signal, &pid.to_string()])
                    .status();
            }
        }
    }
}

/// All descendants of `pid` (from /proc).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // The parent PID is the second field after the parenthesised command name.
            if let Some(ppid) = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse().ok())
            {
                parents.push((p, ppid));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The live (not zombie) processes whose command line contains `needle`.
pub fn pids_matching(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let state = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let zombie = state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (!zombie && cmdline.contains(needle)).then_some(pid)
        })
        .collect()
}

/// Whether a process whose command line contains `needle` is running.
pub fn process_running(needle: &str) -> bool {
    !pids_matching(needle).is_empty()
}

impl Drop for Sshd {
    fn drop(&mut self) {
        for pid in descendants(self.child.id()) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
