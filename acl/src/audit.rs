//! A tamper-evident audit log: JSON lines, each carrying the hash of the previous line and its
//! own hash, so an edited, inserted or deleted line is detected by [`verify`].
//!
//! ```text
//! {"prev":GENESIS,"time":..,...,"status":200,"hash":H1}      H1 = sha256(line 1 without "hash")
//! {"prev":H1,     "time":..,...,"status":403,"hash":H2}      H2 = sha256(line 2 without "hash")
//! {"prev":H2,     ...                       ,"hash":H3}
//! ```
//!
//! The hash of a line is SHA-256 (lower-case hex) over the exact bytes of the line with its
//! trailing `,"hash":"…"` member removed: everything the line says, `prev` included. Carrying it
//! in the line lets [`verify`] point at an edited line itself; the `prev` link catches
//! deletions and insertions (and edits whose author also rewrote that line's hash).
//!
//! The chain is not keyed: whoever can rewrite the file can rewrite every hash after an edit.
//! It detects accidents and casual tampering; ship the lines elsewhere to resist a determined
//! attacker.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::hex;

/// The genesis "previous hash" of a new log.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC time, supplied by the caller.
    pub time: String,
    /// Token accessor, "anonymous" or "" — never a secret.
    pub accessor: String,
    /// The peer address.
    pub remote: String,
    /// HTTP method or RPC name.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The namespace the request touched.
    pub namespace: String,
    /// "allowed" | "denied" | "error".
    pub outcome: String,
    /// The response status code.
    pub status: u16,
}

/// A line as written, without its own hash: `prev` first, then the record in field order.
#[derive(Serialize)]
struct Body<'a> {
    prev: &'a str,
    #[serde(flatten)]
    record: &'a AuditRecord,
}

/// A line as read back.
#[derive(Deserialize)]
struct Line {
    prev: String,
    #[serde(flatten)]
    record: AuditRecord,
    hash: String,
}

/// The member that ends every line: `,"hash":"` + 64 hex digits + `"}`.
const HASH_PREFIX: &str = ",\"hash\":\"";
const HASH_SUFFIX_LEN: usize = HASH_PREFIX.len() + 64 + 2;

/// Serializes `rec` with `prev` (the previous line's hash) into one JSON line (no newline) and
/// returns (line, this_line_hash). Field order is fixed: prev, the record's fields in
/// declaration order, hash.
pub fn chain_line(prev: &str, rec: &AuditRecord) -> (String, String) {
    let body = Body { prev, record: rec };
    // Serializing plain strings and integers into a String cannot fail.
    let mut line = serde_json::to_string(&body).expect("an audit record serializes");
    let hash = sha256_hex(line.as_bytes());
    line.pop(); // the closing brace
    line.push_str(HASH_PREFIX);
    line.push_str(&hash);
    line.push_str("\"}");
    (line, hash)
}

/// Hash of a line as written (to resume a chain after restart: read the last line, hash it).
/// For an intact line this is the hash [`chain_line`] returned for it; for anything else it is
/// a hash that no intact successor will carry.
pub fn line_hash(line: &str) -> String {
    match body_of(line) {
        Some(body) => sha256_hex(body.as_bytes()),
        None => sha256_hex(line.as_bytes()),
    }
}

/// The line without its trailing hash member (closing brace restored), if it has one.
fn body_of(line: &str) -> Option<String> {
    let cut = line.len().checked_sub(HASH_SUFFIX_LEN)?;
    let (head, tail) = (line.get(..cut)?, line.get(cut..)?);
    if !tail.starts_with(HASH_PREFIX) || !tail.ends_with("\"}") {
        return None;
    }
    Some(format!("{head}}}"))
}

/// Why [`verify`] rejected a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct VerifyError {
    /// 1-based number of the first broken line.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Verifies a whole log; Ok(number of lines) or Err with the 1-based number of the first
/// broken line and why ("not JSON", "line hash mismatch", "prev hash mismatch", ...).
///
/// An edited line is reported at that line; a deleted line at the line that followed it; an
/// inserted line at itself or at the line after it. Truncation of the tail cannot be detected
/// by a chain alone (the shortened log is a valid chain): keep the last hash elsewhere, or
/// compare line counts, to notice it. One trailing newline is allowed.
pub fn verify(text: &str) -> Result<usize, VerifyError> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Ok(0);
    }
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    for (index, line) in text.split('\n').enumerate() {
        let fail = |reason: &str| VerifyError {
            line: index + 1,
            reason: reason.to_string(),
        };
        if line.is_empty() {
            return Err(fail("empty line"));
        }
        let parsed: Line = serde_json::from_str(line)
            .map_err(|err| fail(&format!("not a valid audit line: {err}")))?;
        let hash = line_hash(line);
        if parsed.hash != hash {
            return Err(fail("line hash mismatch: the line was edited"));
        }
        if chain_line(&parsed.prev, &parsed.record).0 != line {
            return Err(fail(
                "not in the form this log writes (reformatted or extra fields)",
            ));
        }
        if parsed.prev != prev {
            return Err(fail(
                "prev hash mismatch: a line before it was deleted, inserted or rewritten",
            ));
        }
        prev = hash;
        count += 1;
    }
    Ok(count)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
