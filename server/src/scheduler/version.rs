//! Version constraints for the `version` and `semver` constraint operators.
//!
//! A constraint string is a comma-separated list of clauses (`">= 1.2, < 2.0"`), each an
//! optional operator (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~>`; none means `=`) and a version.
//! Every clause must hold.
//!
//! The two operators differ as Nomad's do:
//! - `version` ([`Mode::Lenient`], like hashicorp/go-version): versions may have a leading
//!   `v` and one to three numeric segments (`1.2` is `1.2.0`), and a pre-release version only
//!   satisfies a clause whose version is a pre-release of the same `major.minor.patch`.
//! - `semver` ([`Mode::Strict`]): versions must be full `MAJOR.MINOR.PATCH[-pre][+build]` and
//!   pre-releases are ordered by the semver rules with no special casing.
//!
//! Build metadata never affects the comparison.

use std::cmp::Ordering;

use semver::{BuildMetadata, Prerelease, Version};

/// How versions are parsed and how pre-releases are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The `version` operator.
    Lenient,
    /// The `semver` operator.
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Pessimistic,
}

#[derive(Debug, Clone)]
struct Clause {
    op: Op,
    version: Version,
    /// How many numeric segments the constraint spelled out (for `~>`).
    segments: usize,
}

/// A parsed version constraint.
#[derive(Debug, Clone)]
pub(crate) struct VersionReq {
    clauses: Vec<Clause>,
    mode: Mode,
}

impl VersionReq {
    /// Parses a constraint string; `None` when any clause is malformed (it then matches nothing).
    pub(crate) fn parse(text: &str, mode: Mode) -> Option<Self> {
        let mut clauses = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (op, rest) = split_operator(part);
            let (version, segments) = parse_version(rest.trim(), mode)?;
            clauses.push(Clause {
                op,
                version,
                segments,
            });
        }
        (!clauses.is_empty()).then_some(Self { clauses, mode })
    }

    /// Whether the version text satisfies every clause (false when it does not parse).
    pub(crate) fn matches(&self, text: &str) -> bool {
        let Some((version, _)) = parse_version(text.trim(), self.mode) else {
            return false;
        };
        self.clauses.iter().all(|c| self.clause_holds(c, &version))
    }

    fn clause_holds(&self, clause: &Clause, v: &Version) -> bool {
        if self.mode == Mode::Lenient && !prerelease_compatible(v, &clause.version) {
            return false;
        }
        let ord = v.cmp_precedence(&clause.version);
        match clause.op {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Pessimistic => pessimistic(v, clause),
        }
    }
}

/// go-version's rule: a pre-release version only matches a pre-release constraint of the
/// same base version, and a pre-release constraint only matches pre-releases.
fn prerelease_compatible(v: &Version, c: &Version) -> bool {
    match (v.pre.is_empty(), c.pre.is_empty()) {
        (false, false) => (v.major, v.minor, v.patch) == (c.major, c.minor, c.patch),
        (false, true) => false,
        _ => true,
    }
}

/// `~> 1.2` allows `>= 1.2, < 2.0`; `~> 1.2.3` allows `>= 1.2.3, < 1.3.0`.
fn pessimistic(v: &Version, clause: &Clause) -> bool {
    let c = &clause.version;
    if !c.pre.is_empty() && v.pre.is_empty() {
        return false;
    }
    if v.cmp_precedence(c) == Ordering::Less {
        return false;
    }
    let vs = [v.major, v.minor, v.patch];
    let cs = [c.major, c.minor, c.patch];
    let fixed = clause.segments.saturating_sub(1);
    vs[..fixed] == cs[..fixed]
}

fn split_operator(part: &str) -> (Op, &str) {
    const OPS: [(&str, Op); 7] = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("~>", Op::Pessimistic),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    OPS.iter()
        .find_map(|(prefix, op)| part.strip_prefix(prefix).map(|rest| (*op, rest)))
        .unwrap_or((Op::Eq, part))
}

/// Parses a version, returning it and how many numeric segments it spelled out.
fn parse_version(text: &str, mode: Mode) -> Option<(Version, usize)> {
    if text.is_empty() {
        return None;
    }
    match mode {
        Mode::Strict => Version::parse(text).ok().map(|v| (strip_build(v), 3)),
        Mode::Lenient => parse_lenient(text),
    }
}

fn parse_lenient(text: &str) -> Option<(Version, usize)> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let (text, _build) = text.split_once('+').unwrap_or((text, ""));
    let (numbers, pre) = text.split_once('-').unwrap_or((text, ""));
    let mut segments = [0u64; 3];
    let mut count = 0;
    for part in numbers.split('.') {
        if count == segments.len() || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        segments[count] = part.parse().ok()?;
        count += 1;
    }
    let mut version = Version::new(segments[0], segments[1], segments[2]);
    if !pre.is_empty() {
        version.pre = Prerelease::new(pre).ok()?;
    }
    Some((version, count))
}

fn strip_build(mut v: Version) -> Version {
    v.build = BuildMetadata::EMPTY;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenient(req: &str, v: &str) -> bool {
        VersionReq::parse(req, Mode::Lenient).is_some_and(|r| r.matches(v))
    }

    fn strict(req: &str, v: &str) -> bool {
        VersionReq::parse(req, Mode::Strict).is_some_and(|r| r.matches(v))
    }

    #[test]
    fn ranges_with_commas() {
        assert!(lenient(">= 1.2, < 2.0", "1.5.3"));
        assert!(lenient(">= 1.2, < 2.0", "1.2"));
        assert!(!lenient(">= 1.2, < 2.0", "2.0.0"));
        assert!(!lenient(">= 1.2, < 2.0", "1.1.9"));
    }

    #[test]
    fn bare_version_means_equal() {
        assert!(lenient("1.2", "1.2.0"));
        assert!(lenient("= 1.2.0", "v1.2"));
        assert!(!lenient("1.2", "1.2.1"));
        assert!(lenient("!= 1.2", "1.2.1"));
    }

    #[test]
    fn pessimistic_operator() {
        assert!(lenient("~> 1.2", "1.9.0"));
        assert!(!lenient("~> 1.2", "2.0.0"));
        assert!(lenient("~> 1.2.3", "1.2.9"));
        assert!(!lenient("~> 1.2.3", "1.3.0"));
        assert!(!lenient("~> 1.2.3", "1.2.2"));
    }

    #[test]
    fn lenient_prereleases_only_match_prerelease_constraints() {
        assert!(!lenient(">= 1.0", "1.5.0-beta1"));
        assert!(lenient(">= 1.5.0-alpha", "1.5.0-beta1"));
        assert!(!lenient(">= 1.4.0-alpha", "1.5.0-beta1"));
    }

    #[test]
    fn strict_orders_prereleases_and_rejects_short_versions() {
        assert!(strict(">= 1.0.0", "1.5.0-beta.1"));
        assert!(strict("< 1.5.0", "1.5.0-beta.1"));
        assert!(!strict(">= 1.0.0", "1.5"));
        assert!(VersionReq::parse(">= 1.0", Mode::Strict).is_none());
    }

    #[test]
    fn build_metadata_is_ignored_and_garbage_never_matches() {
        assert!(lenient("= 1.2.3", "1.2.3+abc"));
        assert!(strict("= 1.2.3", "1.2.3+abc"));
        assert!(!lenient(">= 1.0", "linux"));
        assert!(VersionReq::parse(">= banana", Mode::Lenient).is_none());
        assert!(VersionReq::parse("", Mode::Lenient).is_none());
    }
}
