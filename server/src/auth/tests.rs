use std::sync::Arc;

use nomadish_acl::secret::hash_secret;
use nomadish_proto::model::AclPolicy;

use super::*;

const SALT: &str = "0a0b0c0d";

fn view_with(token: StoredAclToken, policies: &[(&str, &str)]) -> StateView {
    let mut view = StateView::default();
    view.acl.salt = Some(SALT.into());
    view.acl.put_token(Arc::new(token));
    for (name, rules) in policies {
        let p = AclPolicy {
            name: name.to_string(),
            rules: rules.to_string(),
            ..AclPolicy::default()
        };
        view.acl.policies.insert(p.name.clone(), Arc::new(p));
    }
    view
}

fn client_token(secret: &str, policies: &[&str], expires: Option<i64>) -> StoredAclToken {
    StoredAclToken {
        accessor_id: "acc".into(),
        secret_hash: hash_secret(&decode_salt(SALT).unwrap(), secret),
        name: "t".into(),
        token_type: "client".into(),
        policies: policies.iter().map(|p| p.to_string()).collect(),
        global: false,
        create_time: 0,
        expiration_time: expires,
        expiration_ttl: 0,
        create_index: 1,
        modify_index: 1,
    }
}

const ON: AclConfig = AclConfig { enabled: true };

#[test]
fn disabled_acls_act_as_management() {
    let id = resolve(
        &AclConfig::default(),
        &StateView::default(),
        Some("junk"),
        0,
    )
    .unwrap();
    assert!(id.is_management());
}

#[test]
fn tokens_resolve_by_salted_hash_to_their_policies() {
    let view = view_with(
        client_token("s3cret", &["a-read"], None),
        &[("a-read", "namespace \"team-a\" { policy = \"read\" }")],
    );
    let id = resolve(&ON, &view, Some("s3cret"), 10).unwrap();
    assert_eq!(id.accessor, "acc");
    assert!(id.acl.allow_namespace_op("team-a", "read-job"));
    assert!(!id.acl.allow_namespace_op("team-a", "submit-job"));
    assert!(!id.acl.allow_namespace_op("team-b", "read-job"));
    assert_eq!(
        resolve(&ON, &view, Some("other"), 10).unwrap_err(),
        AuthError::TokenNotFound
    );
}

#[test]
fn expired_tokens_stop_at_their_expiry() {
    let view = view_with(client_token("s", &["p"], Some(100)), &[("p", "")]);
    assert!(resolve(&ON, &view, Some("s"), 99).is_ok());
    assert_eq!(
        resolve(&ON, &view, Some("s"), 100).unwrap_err(),
        AuthError::TokenExpired
    );
}

#[test]
fn requests_without_a_token_get_the_anonymous_policy_or_nothing() {
    let view = view_with(client_token("s", &["p"], None), &[]);
    let id = resolve(&ON, &view, None, 0).unwrap();
    assert_eq!(id.accessor, ANONYMOUS_ACCESSOR);
    assert!(!id.acl.allow_namespace_op("default", "list-jobs"));
    let view = view_with(
        client_token("s", &["p"], None),
        &[("anonymous", "namespace \"default\" { policy = \"read\" }")],
    );
    let id = resolve(&ON, &view, Some(""), 0).unwrap();
    assert!(id.acl.allow_namespace_op("default", "list-jobs"));
}

#[test]
fn salts_round_trip_through_hex() {
    let salt = new_salt();
    assert_eq!(decode_salt(&salt).unwrap().len(), 32);
    assert!(decode_salt("abc").is_none());
    assert!(decode_salt("zz").is_none());
}
