//! Dispatching a parameterized job, sans-IO: checking a request against the job's
//! `parameterized` block (payload requirement and size, required and allowed meta keys) and
//! deriving the dispatched child `PARENT/dispatch-<unix seconds>-<8 hex>`.

use nomadish_proto::model::{DISPATCH_PAYLOAD_SIZE_LIMIT, JOB_STATUS_DEAD, Job, Meta, NS_PER_SEC};

use crate::state::StateView;

/// Why a dispatch request is refused (Nomad's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The job has no `parameterized` block.
    #[error("Specified job {0:?} is not a parameterized job")]
    NotParameterized(String),
    /// The job is stopped.
    #[error("Specified job {0:?} is stopped")]
    Stopped(String),
    /// `payload = "required"` and none was given.
    #[error("Payload is not provided but required by parameterized job")]
    PayloadRequired,
    /// `payload = "forbidden"` and one was given.
    #[error("Payload provided but forbidden by parameterized job")]
    PayloadForbidden,
    /// The payload is larger than 16 KiB.
    #[error("Payload exceeds maximum size; {0} > {DISPATCH_PAYLOAD_SIZE_LIMIT}")]
    PayloadTooLarge(usize),
    /// Meta keys neither required nor optional.
    #[error("Dispatch request included unpermitted metadata keys: [{}]", .0.join(" "))]
    UnpermittedMeta(Vec<String>),
    /// Required meta keys missing.
    #[error("Dispatch did not provide required meta keys: [{}]", .0.join(" "))]
    MissingMeta(Vec<String>),
}

/// Checks a dispatch request against the parent job.
pub fn validate(parent: &Job, payload: &[u8], meta: &Meta) -> Result<(), DispatchError> {
    let Some(p) = &parent.parameterized_job else {
        return Err(DispatchError::NotParameterized(parent.id.clone()));
    };
    if parent.stop {
        return Err(DispatchError::Stopped(parent.id.clone()));
    }
    match (p.payload.as_str(), payload.is_empty()) {
        ("required", true) => return Err(DispatchError::PayloadRequired),
        ("forbidden", false) => return Err(DispatchError::PayloadForbidden),
        _ => {}
    }
    if payload.len() > DISPATCH_PAYLOAD_SIZE_LIMIT {
        return Err(DispatchError::PayloadTooLarge(payload.len()));
    }
    let unpermitted: Vec<String> = meta
        .keys()
        .filter(|k| !p.meta_required.contains(k) && !p.meta_optional.contains(k))
        .cloned()
        .collect();
    if !unpermitted.is_empty() {
        return Err(DispatchError::UnpermittedMeta(unpermitted));
    }
    let mut missing: Vec<String> = p
        .meta_required
        .iter()
        .filter(|k| !meta.contains_key(*k))
        .cloned()
        .collect();
    missing.sort();
    if !missing.is_empty() {
        return Err(DispatchError::MissingMeta(missing));
    }
    Ok(())
}

/// The dispatched child's ID: `PARENT/dispatch-<unix seconds>-<first 8 of a UUID>`.
pub fn dispatch_id(parent: &str, now: i64, uuid: &str) -> String {
    let short: String = uuid.chars().take(8).collect();
    format!("{parent}/dispatch-{}-{short}", now.div_euclid(NS_PER_SEC))
}

/// The dispatched child: a copy of the parent without its `parameterized` block, with the
/// payload (base64, as Nomad's JSON carries bytes) and the request's meta over the job's.
pub fn derive_dispatched(
    parent: &Job,
    id: String,
    payload_b64: Option<String>,
    meta: &Meta,
    token: &str,
) -> Job {
    let mut merged = parent.meta.clone();
    merged.extend(meta.iter().map(|(k, v)| (k.clone(), v.clone())));
    Job {
        name: id.clone(),
        id,
        parent_id: parent.id.clone(),
        parameterized_job: None,
        dispatched: true,
        payload: payload_b64,
        meta: merged,
        dispatch_idempotency_token: token.to_string(),
        status: String::new(),
        status_description: String::new(),
        stable: false,
        version: 0,
        create_index: 0,
        modify_index: 0,
        job_modify_index: 0,
        ..parent.clone()
    }
}

/// A live child already dispatched with this idempotency token, if any.
pub fn existing_dispatch(
    view: &StateView,
    parent: &Job,
    token: &str,
) -> Option<std::sync::Arc<Job>> {
    if token.is_empty() {
        return None;
    }
    let prefix = format!("{}/dispatch-", parent.id);
    view.jobs
        .range((parent.namespace.clone(), prefix.clone())..)
        .take_while(|((ns, id), _)| *ns == parent.namespace && id.starts_with(&prefix))
        .map(|(_, j)| j)
        .find(|j| j.dispatch_idempotency_token == token && j.status != JOB_STATUS_DEAD)
        .cloned()
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::ParameterizedJobConfig;

    use super::*;

    fn parent(payload: &str) -> Job {
        Job {
            id: "work".into(),
            namespace: "default".into(),
            meta: Meta::from([("owner".into(), "ops".into())]),
            parameterized_job: Some(ParameterizedJobConfig {
                payload: payload.into(),
                meta_required: vec!["customer".into()],
                meta_optional: vec!["tier".into()],
            }),
            ..Job::default()
        }
    }

    fn meta(pairs: &[(&str, &str)]) -> Meta {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn payload_requirement_and_size_are_enforced() {
        let m = meta(&[("customer", "acme")]);
        assert_eq!(
            validate(&parent("required"), b"", &m),
            Err(DispatchError::PayloadRequired)
        );
        assert_eq!(
            validate(&parent("forbidden"), b"x", &m),
            Err(DispatchError::PayloadForbidden)
        );
        let big = vec![b'x'; DISPATCH_PAYLOAD_SIZE_LIMIT + 1];
        let err = validate(&parent("optional"), &big, &m).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Payload exceeds maximum size; 16385 > 16384"
        );
        assert!(validate(&parent("optional"), b"", &m).is_ok());
    }

    #[test]
    fn meta_keys_must_be_declared_and_required_ones_given() {
        let p = parent("optional");
        let err = validate(&p, b"", &meta(&[("customer", "a"), ("zone", "z")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Dispatch request included unpermitted metadata keys: [zone]"
        );
        let err = validate(&p, b"", &meta(&[("tier", "gold")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Dispatch did not provide required meta keys: [customer]"
        );
        let mut stopped = p.clone();
        stopped.stop = true;
        assert_eq!(
            validate(&stopped, b"", &meta(&[("customer", "a")])),
            Err(DispatchError::Stopped("work".into()))
        );
        let mut plain = p;
        plain.parameterized_job = None;
        assert!(matches!(
            validate(&plain, b"", &Meta::new()),
            Err(DispatchError::NotParameterized(_))
        ));
    }

    #[test]
    fn child_carries_payload_and_merged_meta() {
        let id = dispatch_id("work", 1_700_000_000 * NS_PER_SEC + 5, "0123abcd-ffff");
        assert_eq!(id, "work/dispatch-1700000000-0123abcd");
        let child = derive_dispatched(
            &parent("optional"),
            id.clone(),
            Some("aGk=".into()),
            &meta(&[("customer", "acme")]),
            "tok",
        );
        assert_eq!(
            (child.id.as_str(), child.parent_id.as_str()),
            (id.as_str(), "work")
        );
        assert!(child.dispatched && child.parameterized_job.is_none() && !child.is_parent());
        assert_eq!(child.payload.as_deref(), Some("aGk="));
        assert_eq!(child.meta, meta(&[("customer", "acme"), ("owner", "ops")]));
        assert_eq!(child.dispatch_idempotency_token, "tok");
    }

    #[test]
    fn idempotency_token_finds_a_live_child_only() {
        let parent = parent("optional");
        let mut view = StateView::default();
        view.put_job(std::sync::Arc::new(parent.clone()));
        let mut child = derive_dispatched(
            &parent,
            "work/dispatch-1-aaaaaaaa".into(),
            None,
            &Meta::new(),
            "t1",
        );
        child.status = "running".into();
        view.put_job(std::sync::Arc::new(child.clone()));
        assert_eq!(
            existing_dispatch(&view, &parent, "t1").map(|j| j.id.clone()),
            Some(child.id.clone())
        );
        assert!(existing_dispatch(&view, &parent, "other").is_none());
        assert!(
            existing_dispatch(&view, &parent, "").is_none(),
            "no token, no dedup"
        );
        child.status = JOB_STATUS_DEAD.into();
        view.put_job(std::sync::Arc::new(child));
        assert!(
            existing_dispatch(&view, &parent, "t1").is_none(),
            "a dead child is not reused"
        );
    }
}
