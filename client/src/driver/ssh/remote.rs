//! The command line the remote shell runs: a small wrapper that reports its process group,
//! exports the task's environment (safely quoted) and then `exec`s the task's command, so
//! the task can be signalled as a group from a second channel.

use std::collections::BTreeMap;

use nix::sys::signal::Signal;

use crate::driver::ENV_DENYLIST;

/// The first stdout line of a task: `NOMADISH_PGID <pid>`.
pub const PGID_MARKER: &str = "NOMADISH_PGID ";

/// Quotes `s` for a POSIX shell.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Whether `name` can be exported by a POSIX shell.
fn exportable(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The wrapper line for `command args` with `env` exported.
///
/// sshd starts each session's shell as a session (and process group) leader, so the shell's
/// PID is the group the command and its children run in. A watcher in that group holds the
/// channel's stdin (the command gets `/dev/null`, as local tasks do): when the channel closes,
/// because the task ended, was stopped, or the client's connection went away, stdin reaches
/// end-of-file and the watcher kills the whole group, so no remote process outlives its task.
/// The watcher ignores the signals a user or a stop may send to the group.
pub fn wrapper(command: &str, args: &[String], env: &BTreeMap<String, String>) -> String {
    let mut line = format!(
        "printf '{PGID_MARKER}%s\\n' \"$$\"; exec 3<&0; \
         {{ trap '' HUP INT QUIT TERM USR1 USR2 ALRM PIPE; cat <&3; kill -KILL -$$; }} \
         >/dev/null 2>&1 & "
    );
    for (name, value) in env {
        if ENV_DENYLIST.contains(&name.as_str()) {
            continue;
        }
        if !exportable(name) {
            tracing::debug!(%name, "environment variable name cannot be exported over ssh");
            continue;
        }
        line.push_str(&format!("export {name}={}; ", quote(value)));
    }
    line.push_str("exec ");
    line.push_str(&quote(command));
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line.push_str(" </dev/null 3<&-");
    line
}

/// The command that sends `signal` to the task's process group (`kill -SIG -PGID`, which
/// dash and bash both understand; dash's `kill` has no `--`).
pub fn kill_group(pgid: i32, signal: Signal) -> String {
    let name = signal.as_str().trim_start_matches("SIG");
    format!("kill -{name} -{pgid} 2>/dev/null; true")
}

/// A `nix` signal as the SSH protocol names it.
pub fn ssh_signal(signal: Signal) -> russh::Sig {
    use russh::Sig;
    match signal {
        Signal::SIGABRT => Sig::ABRT,
        Signal::SIGALRM => Sig::ALRM,
        Signal::SIGFPE => Sig::FPE,
        Signal::SIGHUP => Sig::HUP,
        Signal::SIGILL => Sig::ILL,
        Signal::SIGINT => Sig::INT,
        Signal::SIGKILL => Sig::KILL,
        Signal::SIGPIPE => Sig::PIPE,
        Signal::SIGQUIT => Sig::QUIT,
        Signal::SIGSEGV => Sig::SEGV,
        Signal::SIGTERM => Sig::TERM,
        Signal::SIGUSR1 => Sig::USR1,
        other => Sig::Custom(other.as_str().trim_start_matches("SIG").to_string()),
    }
}

/// The signal number of an SSH signal name (`TERM`), 0 when unknown.
pub fn signal_number(sig: &russh::Sig) -> i64 {
    use russh::Sig;
    let name = match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name.as_str(),
    };
    format!("SIG{name}")
        .parse::<Signal>()
        .map(|s| s as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::unix::process::{CommandExt, ExitStatusExt};

    use super::*;

    #[test]
    fn quoting_survives_the_shell() {
        let env = BTreeMap::from([
            ("GREETING".to_string(), "it's $HOME `x` \"y\"".to_string()),
            ("bad-name".to_string(), "x".to_string()),
            ("NOMAD_TOKEN".to_string(), "secret".to_string()),
        ]);
        let line = wrapper("printf", &["%s|%s".into(), "$GREETING".into()], &env);
        let line = line.replace("exec printf", "printf \"$NOMAD_TOKEN\"; exec printf");
        let line = line.replace(" </dev/null", " \"$GREETING\" </dev/null");
        for shell in ["sh", "bash"] {
            // Its own process group, with stdin open until the output is read: the watcher
            // kills the group when stdin closes.
            let mut child = std::process::Command::new(shell)
                .args(["-c", &line])
                .process_group(0)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut text = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            child.wait().unwrap();
            let body = text.split_once('\n').unwrap().1;
            assert_eq!(body, "$GREETING|it's $HOME `x` \"y\"", "{shell}");
            assert!(text.starts_with(PGID_MARKER), "{shell}");
        }
    }

    #[test]
    fn the_watcher_kills_the_group_when_stdin_closes() {
        for shell in ["sh", "bash"] {
            let line = wrapper("sleep", &["30".into()], &BTreeMap::new());
            let mut child = std::process::Command::new(shell)
                .args(["-c", &line])
                .process_group(0)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut first = [0u8; 5];
            child.stdout.take().unwrap().read_exact(&mut first).unwrap();
            let begun = std::time::Instant::now();
            drop(child.stdin.take());
            let status = child.wait().unwrap();
            assert!(
                begun.elapsed() < std::time::Duration::from_secs(5),
                "{shell}"
            );
            assert_eq!(status.signal(), Some(9), "{shell}");
        }
    }

    #[test]
    fn signals_map_both_ways() {
        assert_eq!(signal_number(&ssh_signal(Signal::SIGTERM)), 15);
        assert_eq!(signal_number(&ssh_signal(Signal::SIGUSR2)), 12);
        assert_eq!(
            kill_group(42, Signal::SIGKILL).split(' ').nth(1),
            Some("-KILL")
        );
    }
}
