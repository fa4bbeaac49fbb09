//! ACL endpoints: bootstrap, policies and tokens (`/v1/acl/*`), in Nomad's shapes.
//!
//! Who may call what is decided by the authorization layer (`auth::rules`); the handlers
//! here only narrow the self-service reads (a client token sees its own token and policies).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use nomadish_acl::secret::hash_secret;
use nomadish_proto::model::{
    AclPolicy, AclPolicyListStub, AclToken, AclTokenListStub, TOKEN_TYPE_CLIENT,
    TOKEN_TYPE_MANAGEMENT, check_token_request, generate_id, now_ns, valid_policy_name,
};
use serde::Deserialize;

use super::jobs::decode_body;
use super::list::{ListQuery, Paging, reply_list};
use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::auth::{Identity, decode_salt, new_salt};
use crate::fsm::Command;
use crate::fsm::acl::AclOp;
use crate::server::Server;
use crate::state::{StateView, StoredAclToken};

type Params = Query<HashMap<String, String>>;
type Ident = Extension<Arc<Identity>>;

/// File in the server's data directory holding the bootstrap reset index (as Nomad's).
pub const BOOTSTRAP_RESET_FILE: &str = "acl-bootstrap-reset";

fn require_enabled(server: &Server) -> Result<(), HttpError> {
    if server.config.acl.enabled {
        Ok(())
    } else {
        Err(HttpError::bad_request("ACL support disabled"))
    }
}

fn forbidden() -> HttpError {
    HttpError {
        status: StatusCode::FORBIDDEN,
        message: "Permission denied".into(),
    }
}

/// `POST /v1/acl/bootstrap` body (optional): a caller-chosen secret.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BootstrapRequest {
    #[serde(rename = "BootstrapSecret")]
    bootstrap_secret: String,
}

/// `POST /v1/acl/bootstrap`: the first management token, once.
pub async fn bootstrap(
    State(server): State<AppState>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    let req: BootstrapRequest = if body.iter().all(u8::is_ascii_whitespace) {
        BootstrapRequest::default()
    } else {
        decode_body(&body)?
    };
    let secret = if req.bootstrap_secret.is_empty() {
        generate_id()
    } else if uuid::Uuid::parse_str(&req.bootstrap_secret).is_ok() {
        req.bootstrap_secret
    } else {
        return Err(HttpError::bad_request(
            "BootstrapSecret must be a UUID".to_string(),
        ));
    };
    let reset_path = server
        .config
        .data_dir
        .join("server")
        .join(BOOTSTRAP_RESET_FILE);
    let reset_index = match std::fs::read_to_string(&reset_path) {
        Ok(text) => Some(text.trim().parse::<u64>().map_err(|_| {
            HttpError::bad_request(format!("{}: not an index", reset_path.display()))
        })?),
        Err(_) => None,
    };
    let view = server.consistent_view().await?;
    let salt = view.acl.salt.clone().unwrap_or_else(new_salt);
    let now = now_ns();
    let token = StoredAclToken {
        accessor_id: generate_id(),
        secret_hash: hash_with(&salt, &secret)?,
        name: "Bootstrap Token".into(),
        token_type: TOKEN_TYPE_MANAGEMENT.into(),
        policies: Vec::new(),
        global: true,
        create_time: now,
        expiration_time: None,
        expiration_ttl: 0,
        create_index: 0,
        modify_index: 0,
    };
    let accessor = token.accessor_id.clone();
    let op = AclOp::Bootstrap {
        salt,
        token,
        reset_index,
    };
    let resp = server
        .write(Command::ApplyAcl { op })
        .await
        .map_err(|e| HttpError::bad_request(e.to_string()))?;
    if reset_index.is_some() {
        let _ = std::fs::remove_file(&reset_path);
    }
    let view = server.state.snapshot();
    let stored = view
        .acl
        .tokens
        .get(&accessor)
        .ok_or_else(|| HttpError::internal("bootstrap token vanished"))?;
    Ok(reply(
        &server,
        &opts,
        resp.index,
        &stored.to_api(Some(&secret)),
    ))
}

fn hash_with(salt_hex: &str, secret: &str) -> Result<String, HttpError> {
    let salt = decode_salt(salt_hex).ok_or_else(|| HttpError::internal("corrupt ACL salt"))?;
    Ok(hash_secret(&salt, secret))
}

/// `GET /v1/acl/policies`: every policy for management, a client token's own otherwise.
pub async fn list_policies(
    State(server): State<AppState>,
    Extension(identity): Ident,
    list: ListQuery,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.acl).await?;
    let stubs = view
        .acl
        .policies
        .values()
        .filter(|p| p.name.starts_with(&opts.prefix) && may_read_policy(&identity, &p.name))
        .map(|p| AclPolicyListStub::from(&**p));
    reply_list(&server, &list, view.tables.acl, stubs, Paging::NAME)
}

fn may_read_policy(identity: &Identity, name: &str) -> bool {
    identity.is_management()
        || identity
            .token
            .as_ref()
            .is_some_and(|t| t.policies.iter().any(|p| p == name))
}

/// `GET /v1/acl/policy/:name`.
pub async fn get_policy(
    State(server): State<AppState>,
    Extension(identity): Ident,
    Path(name): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    if !may_read_policy(&identity, &name) {
        return Err(forbidden());
    }
    let view = read_view(&server, &opts, |v| v.tables.acl).await?;
    let policy = view
        .acl
        .policies
        .get(&name)
        .ok_or_else(|| HttpError::not_found("ACL policy not found"))?;
    Ok(reply(&server, &opts, view.tables.acl, &**policy))
}

/// `POST|PUT /v1/acl/policy/:name`: create or replace; the rules must parse.
pub async fn put_policy(
    State(server): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    let mut policy: AclPolicy = decode_body(&body)?;
    if policy.name.is_empty() {
        policy.name = name.clone();
    }
    if policy.name != name {
        return Err(HttpError::bad_request(
            "ACL policy name does not match request path",
        ));
    }
    if !valid_policy_name(&policy.name) {
        return Err(HttpError::bad_request(format!(
            "invalid name {:?}",
            policy.name
        )));
    }
    if policy.description.len() > 256 {
        return Err(HttpError::bad_request("description longer than 256"));
    }
    nomadish_acl::parse_policy(&policy.rules)
        .map_err(|e| HttpError::bad_request(format!("failed to parse rules: {e}")))?;
    let op = AclOp::UpsertPolicies {
        policies: vec![policy],
    };
    let resp = server.write(Command::ApplyAcl { op }).await?;
    Ok(reply(&server, &opts, resp.index, &serde_json::Value::Null))
}

/// `DELETE /v1/acl/policy/:name`.
pub async fn delete_policy(
    State(server): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    let op = AclOp::DeletePolicies { names: vec![name] };
    let resp = server.write(Command::ApplyAcl { op }).await?;
    Ok(reply(&server, &opts, resp.index, &serde_json::Value::Null))
}

/// `GET /v1/acl/tokens` (management): stubs, `?prefix` on the accessor.
pub async fn list_tokens(
    State(server): State<AppState>,
    list: ListQuery,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.acl).await?;
    let stubs = view
        .acl
        .tokens
        .values()
        .filter(|t| t.accessor_id.starts_with(&opts.prefix))
        .map(|t| AclTokenListStub::from(&t.to_api(None)));
    reply_list(&server, &list, view.tables.acl, stubs, Paging::TOKENS)
}

/// `POST|PUT /v1/acl/token`: a new token; the answer is the only place its secret appears.
pub async fn create_token(
    State(server): State<AppState>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    let mut req: AclToken = decode_body(&body)?;
    if !req.accessor_id.is_empty() {
        return Err(HttpError::bad_request(
            "AccessorID must be empty to create a token",
        ));
    }
    if req.token_type.is_empty() {
        req.token_type = TOKEN_TYPE_CLIENT.into();
    }
    check_token_request(&req).map_err(HttpError::bad_request)?;
    let view = server.consistent_view().await?;
    check_policies_exist(&view, &req.policies)?;
    let salt = view
        .acl
        .salt
        .clone()
        .ok_or_else(|| HttpError::bad_request("ACL system not bootstrapped"))?;
    let secret = generate_id();
    let now = now_ns();
    let token = StoredAclToken {
        accessor_id: generate_id(),
        secret_hash: hash_with(&salt, &secret)?,
        name: req.name,
        token_type: req.token_type,
        policies: req.policies,
        global: req.global,
        create_time: now,
        expiration_time: (req.expiration_ttl > 0).then(|| now + req.expiration_ttl),
        expiration_ttl: req.expiration_ttl,
        create_index: 0,
        modify_index: 0,
    };
    write_token(&server, &opts, token, Some(&secret)).await
}

/// `POST|PUT /v1/acl/token/:accessor`: name and policies of an existing token.
pub async fn update_token(
    State(server): State<AppState>,
    Path(accessor): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    let req: AclToken = decode_body(&body)?;
    if !req.accessor_id.is_empty() && req.accessor_id != accessor {
        return Err(HttpError::bad_request(
            "AccessorID does not match request path",
        ));
    }
    let view = server.consistent_view().await?;
    let old = view
        .acl
        .tokens
        .get(&accessor)
        .cloned()
        .ok_or_else(|| HttpError::not_found("ACL token not found"))?;
    let mut token = StoredAclToken::clone(&old);
    if !req.token_type.is_empty() && req.token_type != old.token_type {
        return Err(HttpError::bad_request("cannot change token type"));
    }
    token.name = req.name;
    token.policies = req.policies;
    token.global = req.global;
    let check = AclToken {
        expiration_ttl: 0,
        ..token.to_api(None)
    };
    check_token_request(&check).map_err(HttpError::bad_request)?;
    check_policies_exist(&view, &token.policies)?;
    write_token(&server, &opts, token, None).await
}

fn check_policies_exist(view: &StateView, names: &[String]) -> Result<(), HttpError> {
    match names.iter().find(|n| !view.acl.policies.contains_key(*n)) {
        Some(missing) => Err(HttpError::bad_request(format!(
            "cannot find policy {missing}"
        ))),
        None => Ok(()),
    }
}

async fn write_token(
    server: &Server,
    opts: &QueryOptions,
    token: StoredAclToken,
    secret: Option<&str>,
) -> Result<Response, HttpError> {
    let accessor = token.accessor_id.clone();
    let op = AclOp::UpsertTokens {
        tokens: vec![token],
    };
    let resp = server.write(Command::ApplyAcl { op }).await?;
    let view = server.state.snapshot();
    let stored = view
        .acl
        .tokens
        .get(&accessor)
        .ok_or_else(|| HttpError::internal("token vanished after its write"))?;
    Ok(reply(server, opts, resp.index, &stored.to_api(secret)))
}

/// `GET /v1/acl/token/:accessor`: management, or the token itself.
pub async fn get_token(
    State(server): State<AppState>,
    Extension(identity): Ident,
    Path(accessor): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    let own = identity
        .token
        .as_ref()
        .is_some_and(|t| t.accessor_id == accessor);
    if !identity.is_management() && !own {
        return Err(forbidden());
    }
    let view = read_view(&server, &opts, |v| v.tables.acl).await?;
    let token = view
        .acl
        .tokens
        .get(&accessor)
        .ok_or_else(|| HttpError::not_found("ACL token not found"))?;
    let secret = if own { identity.secret() } else { None };
    Ok(reply(
        &server,
        &opts,
        view.tables.acl,
        &token.to_api(secret),
    ))
}

/// `GET /v1/acl/token/self`: the presented token, secret included.
pub async fn token_self(
    State(server): State<AppState>,
    Extension(identity): Ident,
    Query(params): Params,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    let token = identity.token.as_ref().ok_or_else(|| HttpError {
        status: StatusCode::FORBIDDEN,
        message: "ACL token not found".into(),
    })?;
    let index = server.state.snapshot().tables.acl;
    Ok(reply(
        &server,
        &opts,
        index,
        &token.to_api(identity.secret()),
    ))
}

/// `DELETE /v1/acl/token/:accessor`.
pub async fn delete_token(
    State(server): State<AppState>,
    Path(accessor): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    require_enabled(&server)?;
    let opts = QueryOptions::parse(params)?;
    let op = AclOp::DeleteTokens {
        accessors: vec![accessor],
    };
    let resp = server.write(Command::ApplyAcl { op }).await?;
    Ok(reply(&server, &opts, resp.index, &serde_json::Value::Null))
}
