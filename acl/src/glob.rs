//! Name globs as Nomad's ACLs use them: `*` matches any run of characters (`/` included) and
//! every other character matches itself.
//!
//! A general glob crate does not fit: those give `?`, `[...]` and `/` special meanings that
//! Nomad's policies do not have, and none reports how many characters the wildcards consumed,
//! which is how Nomad picks the closest of several matching globs.

/// Whether `pattern` contains a wildcard.
pub(crate) fn is_glob(pattern: &str) -> bool {
    pattern.contains('*')
}

/// If `pattern` matches `name`, how many bytes of `name` the wildcards matched (0 for an
/// exact name); `None` when it does not match.
pub(crate) fn wildcard_len(pattern: &str, name: &str) -> Option<usize> {
    if !matches(pattern.as_bytes(), name.as_bytes()) {
        return None;
    }
    let literal = pattern.len() - pattern.matches('*').count();
    Some(name.len() - literal)
}

/// Greedy matching with backtracking to the last `*` (linear in practice, no recursion).
fn matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Position of the last `*` seen in the pattern, and where in `name` it started matching.
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p, n));
                p += 1;
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((star, start)) => {
                    p = star + 1;
                    n = start + 1;
                    backtrack = Some((star, start + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_any_run_including_empty_and_slashes() {
        assert_eq!(wildcard_len("*", "prod"), Some(4));
        assert_eq!(wildcard_len("prod", "prod"), Some(0));
        assert_eq!(wildcard_len("prod-*", "prod-"), Some(0));
        assert_eq!(wildcard_len("prod-*", "prod-web"), Some(3));
        assert_eq!(wildcard_len("*-web", "prod-web"), Some(4));
        assert_eq!(wildcard_len("a*b*c", "aXXbYc"), Some(3));
        assert_eq!(wildcard_len("nomad/jobs/*", "nomad/jobs/web/api"), Some(7));
        assert_eq!(wildcard_len("**", ""), Some(0));
    }

    #[test]
    fn non_matches() {
        assert_eq!(wildcard_len("prod", "prod2"), None);
        assert_eq!(wildcard_len("prod-*", "prod"), None);
        assert_eq!(wildcard_len("*-web", "web"), None);
        assert_eq!(wildcard_len("a*b*c", "aXXbY"), None);
        assert_eq!(wildcard_len("", "x"), None);
        assert!(!is_glob("prod") && is_glob("p*"));
    }
}
