//! Nomad-style flags for clap: Nomad's CLI (Go's `flag` package) takes long flags with a
//! single dash (`-detach`, `-address=http://...`). Before clap sees the arguments,
//!
//! ```text
//! -word          -> --word
//! -word=value    -> --word=value
//! -f, -n 5, -    stay as they are (single letters and a lone dash)
//! --word, -5     stay as they are (already long; negative numbers)
//! after `--`     nothing is translated
//! alloc exec     nothing after the allocation is translated (it is the command's own argv)
//! ```

use std::ffi::OsString;

/// Rewrites single-dash long flags into clap's double-dash form. The first element (the
/// program name) is kept as it is.
pub fn translate_args<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut out = Vec::new();
    let mut passthrough = false;
    let mut exec = ExecScan::default();
    for (i, arg) in args.into_iter().enumerate() {
        let arg: OsString = arg.into();
        if i == 0 || passthrough {
            out.push(arg);
            continue;
        }
        if exec.command_started(&arg) {
            passthrough = true;
            out.push(arg);
            continue;
        }
        if arg == "--" {
            passthrough = true;
            out.push(arg);
            continue;
        }
        out.push(translate_one(arg));
    }
    out
}

/// `alloc exec` flags that take a separate value (`-task web`).
const EXEC_VALUE_FLAGS: &[&str] = &[
    "task",
    "e",
    "address",
    "token",
    "namespace",
    "region",
    "ca-cert",
    "client-cert",
    "client-key",
    "tls-server-name",
];

/// Finds where `alloc exec`'s command begins: after the first positional argument (the
/// allocation) that follows `alloc exec`.
#[derive(Default)]
struct ExecScan {
    /// Positional words seen so far (`alloc`, `exec`).
    words: Vec<String>,
    /// The previous argument was a flag waiting for its value.
    value_pending: bool,
    /// The allocation was seen: the command starts at the next argument.
    alloc_seen: bool,
}

impl ExecScan {
    /// Whether `arg` belongs to the command of `alloc exec` (and everything after it).
    fn command_started(&mut self, arg: &OsString) -> bool {
        if self.alloc_seen {
            return true;
        }
        let text = arg.to_str().unwrap_or_default();
        let in_exec = self.words.len() >= 2 && self.words[..2] == ["alloc", "exec"];
        if let Some(flag) = text.strip_prefix('-') {
            let name = flag.trim_start_matches('-');
            self.value_pending = in_exec && !name.contains('=') && EXEC_VALUE_FLAGS.contains(&name);
            return false;
        }
        if std::mem::take(&mut self.value_pending) {
            return false;
        }
        if in_exec {
            self.alloc_seen = true;
        } else {
            self.words.push(text.to_string());
        }
        false
    }
}

/// Translates one argument (see the module docs).
fn translate_one(arg: OsString) -> OsString {
    let Some(text) = arg.to_str() else {
        return arg;
    };
    let Some(rest) = text.strip_prefix('-') else {
        return arg;
    };
    if rest.starts_with('-') {
        return arg;
    }
    let name = rest.split('=').next().unwrap_or_default();
    let first = name.chars().next();
    let is_long_word = name.chars().count() > 1 && first.is_some_and(|c| !c.is_ascii_digit());
    if is_long_word {
        OsString::from(format!("-{text}"))
    } else {
        arg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(args: &[&str]) -> Vec<String> {
        translate_args(args.iter().copied())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn long_single_dash_flags_become_double_dash() {
        assert_eq!(
            tr(&["nomadish", "job", "run", "-detach", "web.hcl"]),
            ["nomadish", "job", "run", "--detach", "web.hcl"]
        );
        assert_eq!(
            tr(&["nomadish", "status", "-address=http://10.0.0.1:4646"]),
            ["nomadish", "status", "--address=http://10.0.0.1:4646"]
        );
        assert_eq!(
            tr(&["nomadish", "agent", "-dev", "-data-dir", "/tmp/x"]),
            ["nomadish", "agent", "--dev", "--data-dir", "/tmp/x"]
        );
    }

    #[test]
    fn single_letters_lone_dash_and_double_dash_stay() {
        assert_eq!(
            tr(&[
                "nomadish", "alloc", "logs", "-f", "-n", "5", "-c", "10", "abc"
            ]),
            [
                "nomadish", "alloc", "logs", "-f", "-n", "5", "-c", "10", "abc"
            ]
        );
        assert_eq!(tr(&["x", "-"]), ["x", "-"]);
        assert_eq!(tr(&["x", "--json"]), ["x", "--json"]);
        assert_eq!(tr(&["x", "-n=5"]), ["x", "-n=5"]);
    }

    #[test]
    fn negative_numbers_and_values_are_not_flags() {
        assert_eq!(
            tr(&["x", "-check-index", "-1"]),
            ["x", "--check-index", "-1"]
        );
        assert_eq!(tr(&["x", "-meta", "k=v"]), ["x", "--meta", "k=v"]);
    }

    #[test]
    fn alloc_exec_commands_are_passed_as_they_are() {
        assert_eq!(
            tr(&[
                "nomadish", "alloc", "exec", "-task", "web", "-i=false", "abcd", "ls", "-la"
            ]),
            [
                "nomadish", "alloc", "exec", "--task", "web", "-i=false", "abcd", "ls", "-la"
            ]
        );
        assert_eq!(
            tr(&["nomadish", "alloc", "logs", "abcd", "-stderr"]),
            ["nomadish", "alloc", "logs", "abcd", "--stderr"]
        );
    }

    #[test]
    fn nothing_after_double_dash_is_translated() {
        assert_eq!(
            tr(&["x", "-json", "--", "-detach"]),
            ["x", "--json", "--", "-detach"]
        );
    }

    #[test]
    fn program_name_is_kept() {
        assert_eq!(tr(&["-weird-name", "-json"]), ["-weird-name", "--json"]);
    }
}
