//! Token secrets are stored only as salted hashes: the server keeps `hash_secret(salt, secret)`
//! and looks a presented secret up by its hash, so a copy of the state store reveals no usable
//! token.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Keyed hash of a secret under the cluster salt (HMAC-SHA256, hex lower-case); deterministic
/// so the server can look a token up by the hash of the presented secret.
pub fn hash_secret(salt: &[u8], secret: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(salt).expect("HMAC takes keys of any length");
    mac.update(secret.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Constant-time comparison of two hex hashes (the time does not depend on where they differ;
/// hashes of different lengths are unequal).
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc4231_test_case_2() {
        assert_eq!(
            hash_secret(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn deterministic_and_salt_dependent() {
        let secret = "3f1c2a9e-7d4b-4e0a-9c1f-2b8d6e5a4c3b";
        let a = hash_secret(b"salt-one", secret);
        assert_eq!(a, hash_secret(b"salt-one", secret));
        assert_ne!(a, hash_secret(b"salt-two", secret));
        assert_ne!(a, hash_secret(b"salt-one", "another-secret"));
        assert_eq!(a.len(), 64);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(!a.contains(secret));
    }

    #[test]
    fn equality_is_exact() {
        let h = hash_secret(b"s", "x");
        assert!(hashes_equal(&h, &h.clone()));
        assert!(!hashes_equal(&h, &hash_secret(b"s", "y")));
        assert!(!hashes_equal(&h, &h[..63]));
        assert!(!hashes_equal(&h, ""));
    }
}
