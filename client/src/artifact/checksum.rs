//! `options { checksum = "sha256:<hex>" }`: md5, sha1, sha256 and sha512 digests.

use sha2::Digest;

/// Checks `data` against `spec` (`type:hex`); the error names the expected and actual digests.
pub fn verify(spec: &str, data: &[u8]) -> Result<(), String> {
    let (kind, expected) = spec
        .split_once(':')
        .ok_or_else(|| format!("checksum {spec:?} must look like \"sha256:<hex>\""))?;
    let actual = match kind {
        "md5" => format!("{:x}", md5::compute(data)),
        "sha1" => hex::encode(sha1::Sha1::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        other => {
            return Err(format!(
                "checksum type {other:?} is not supported (md5, sha1, sha256, sha512)"
            ));
        }
    };
    if actual.eq_ignore_ascii_case(expected.trim()) {
        Ok(())
    } else {
        Err(format!(
            "checksum mismatch: expected {kind}:{expected}, got {kind}:{actual}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn matching_digests_pass() {
        verify(&format!("sha256:{HELLO_SHA256}"), b"hello").unwrap();
        verify("md5:5d41402abc4b2a76b9719d911017c592", b"hello").unwrap();
        verify("sha1:aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", b"hello").unwrap();
    }

    #[test]
    fn a_mismatch_names_expected_and_actual() {
        let err = verify(&format!("sha256:{HELLO_SHA256}"), b"bye").unwrap_err();
        assert!(
            err.contains(&format!("expected sha256:{HELLO_SHA256}")),
            "{err}"
        );
        assert!(err.contains("got sha256:"), "{err}");
    }

    #[test]
    fn bad_specs_are_refused() {
        assert!(
            verify("nohex", b"x")
                .unwrap_err()
                .contains("must look like")
        );
        assert!(
            verify("crc32:00", b"x")
                .unwrap_err()
                .contains("not supported")
        );
    }
}
