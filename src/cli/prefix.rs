//! ID prefix resolution, as Nomad's CLI does it: the user may type any prefix of a job,
//! allocation, evaluation or node ID; the server lists candidates with `?prefix=`, and
//!
//! ```text
//! no candidate            -> "No <things> with prefix or id "x" found"  (exit 1)
//! an exact ID match       -> that one (job "web" wins over "web-2")
//! exactly one candidate   -> that one
//! several candidates      -> list them                                  (exit 1)
//! ```

use serde::de::DeserializeOwned;

use super::api::{ApiClient, ApiError};

/// Outcome of matching a prefix against candidates.
#[derive(Debug, PartialEq)]
pub enum Resolution<'a, T> {
    /// No candidate starts with the prefix.
    NotFound,
    /// Exactly one candidate is meant.
    One(&'a T),
    /// Several candidates match and none exactly.
    Many(Vec<&'a T>),
}

/// Picks the candidate a prefix designates.
pub fn resolve<'a, T>(
    candidates: &'a [T],
    prefix: &str,
    id: impl Fn(&T) -> &str,
) -> Resolution<'a, T> {
    let matching: Vec<&T> = candidates
        .iter()
        .filter(|c| id(c).starts_with(prefix))
        .collect();
    if let Some(exact) = matching.iter().find(|c| id(c) == prefix) {
        return Resolution::One(exact);
    }
    match matching.len() {
        0 => Resolution::NotFound,
        1 => Resolution::One(matching[0]),
        _ => Resolution::Many(matching),
    }
}

/// Why a prefix lookup did not give one object.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Listing candidates failed.
    #[error("{context}: {source}")]
    Api {
        /// What was being queried ("Error querying allocation").
        context: String,
        /// The API error.
        source: ApiError,
    },
    /// An ID must have at least two characters.
    #[error("Identifier must contain at least two characters.")]
    TooShort,
    /// Nothing matched.
    #[error("No {kind} with prefix or id {prefix:?} found")]
    NotFound {
        /// "allocation(s)", "evaluation(s)", ...
        kind: String,
        /// The prefix as typed.
        prefix: String,
    },
    /// Several matched; `listing` is the formatted table of candidates.
    #[error("Prefix matched multiple {kind}\n\n{listing}")]
    Ambiguous {
        /// "allocations", "jobs", ...
        kind: String,
        /// Formatted candidates.
        listing: String,
    },
}

/// What a prefix lookup searches: the list endpoint and how its rows are named and shown.
pub struct Lookup<'a, T> {
    /// List endpoint, e.g. `/v1/allocations`.
    pub path: &'a str,
    /// Names for messages: singular-plural ("allocation(s)") and plural ("allocations").
    pub kind_any: &'a str,
    /// Plural noun for the ambiguity message.
    pub kind_many: &'a str,
    /// Context of API errors ("Error querying allocation").
    pub context: &'a str,
    /// The ID of a row.
    pub id: fn(&T) -> &str,
    /// Formats the ambiguous candidates.
    pub listing: fn(&[&T]) -> String,
    /// Whether one-character prefixes are refused (UUIDs).
    pub min_two_chars: bool,
}

impl<T: DeserializeOwned + Clone> Lookup<'_, T> {
    /// Lists candidates with `?prefix=` and resolves `prefix` to one row.
    pub async fn find(&self, api: &ApiClient, prefix: &str) -> Result<T, LookupError> {
        if self.min_two_chars && prefix.chars().count() < 2 {
            return Err(LookupError::TooShort);
        }
        let rows: Vec<T> = api
            .get(self.path, &[("prefix", prefix.to_string())])
            .await
            .map_err(|source| LookupError::Api {
                context: self.context.to_string(),
                source,
            })?
            .body;
        match resolve(&rows, prefix, self.id) {
            Resolution::One(row) => Ok(row.clone()),
            Resolution::NotFound => Err(LookupError::NotFound {
                kind: self.kind_any.to_string(),
                prefix: prefix.to_string(),
            }),
            Resolution::Many(rows) => Err(LookupError::Ambiguous {
                kind: self.kind_many.to_string(),
                listing: (self.listing)(&rows),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&'static str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn single_candidate_is_chosen() {
        let c = ids(&["0b1c2d3e-aaaa", "ffff0000-bbbb"]);
        assert_eq!(resolve(&c, "0b", |s| s), Resolution::One(&c[0]));
    }

    #[test]
    fn no_candidate_is_not_found() {
        let c = ids(&["0b1c2d3e-aaaa"]);
        assert_eq!(resolve(&c, "zz", |s| s), Resolution::NotFound);
        let empty: Vec<String> = Vec::new();
        assert_eq!(resolve(&empty, "ab", |s| s), Resolution::NotFound);
    }

    #[test]
    fn several_candidates_are_ambiguous() {
        let c = ids(&["abc-1", "abd-2", "xyz"]);
        assert_eq!(
            resolve(&c, "ab", |s| s),
            Resolution::Many(vec![&c[0], &c[1]])
        );
    }

    #[test]
    fn exact_match_wins_over_longer_ids() {
        let c = ids(&["web-2", "web", "web-3"]);
        assert_eq!(resolve(&c, "web", |s| s), Resolution::One(&c[1]));
    }

    #[test]
    fn rows_not_starting_with_prefix_are_ignored() {
        // A server that ignores `?prefix=` returns everything; only real matches count.
        let c = ids(&["aaa", "bbb"]);
        assert_eq!(resolve(&c, "b", |s| s), Resolution::One(&c[1]));
    }

    #[test]
    fn lookup_errors_read_like_nomad() {
        let e = LookupError::NotFound {
            kind: "allocation(s)".into(),
            prefix: "ab".into(),
        };
        assert_eq!(
            e.to_string(),
            "No allocation(s) with prefix or id \"ab\" found"
        );
        let e = LookupError::Ambiguous {
            kind: "allocations".into(),
            listing: "ID\nx".into(),
        };
        assert_eq!(
            e.to_string(),
            "Prefix matched multiple allocations\n\nID\nx"
        );
    }
}
