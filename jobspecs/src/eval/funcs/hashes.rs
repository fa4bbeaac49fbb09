//! Hash and identifier functions: md5, sha1, sha256, sha512, base64sha256, base64sha512,
//! uuidv4 (random: evaluated at parse time, as Nomad does) and uuidv5.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::Digest;

use super::{Args, Func};

pub(super) const FUNCS: &[(&str, Func)] = &[
    ("md5", |a| hex(a, |s| md5::Md5::digest(s).to_vec())),
    ("sha1", |a| hex(a, |s| sha1::Sha1::digest(s).to_vec())),
    ("sha256", |a| hex(a, |s| sha2::Sha256::digest(s).to_vec())),
    ("sha512", |a| hex(a, |s| sha2::Sha512::digest(s).to_vec())),
    ("base64sha256", |a| {
        b64(a, |s| sha2::Sha256::digest(s).to_vec())
    }),
    ("base64sha512", |a| {
        b64(a, |s| sha2::Sha512::digest(s).to_vec())
    }),
    ("uuidv4", |a| {
        a.exactly(0)?;
        Ok(Value::String(uuid::Uuid::new_v4().to_string()))
    }),
    ("uuidv5", uuidv5),
];

fn hex(args: Args<'_>, digest: fn(&[u8]) -> Vec<u8>) -> Result<Value, String> {
    args.exactly(1)?;
    let bytes = digest(args.str(0)?.as_bytes());
    Ok(Value::String(
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

fn b64(args: Args<'_>, digest: fn(&[u8]) -> Vec<u8>) -> Result<Value, String> {
    args.exactly(1)?;
    Ok(Value::String(
        STANDARD.encode(digest(args.str(0)?.as_bytes())),
    ))
}

fn uuidv5(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (ns, name) = (args.str(0)?, args.str(1)?);
    let namespace = match ns.as_str() {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other)
            .map_err(|_| format!("namespace {other:?} is not dns, url, oid, x500 or a UUID"))?,
    };
    Ok(Value::String(
        uuid::Uuid::new_v5(&namespace, name.as_bytes()).to_string(),
    ))
}
