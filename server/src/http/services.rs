//! The service catalog (`provider = "nomad"`): `GET /v1/services`, `GET /v1/service/:name`
//! (with Nomad's `?choose=N|key`), `DELETE /v1/service/:name/:id`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::ServiceRegistration;
use serde::Serialize;

use super::list::{ListQuery, Paging, reply_list};
use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::fsm::Command;

type Params = Query<HashMap<String, String>>;

/// One namespace's services in `GET /v1/services`.
#[derive(Debug, Serialize, PartialEq)]
pub struct NamespaceServices {
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "Services")]
    pub services: Vec<ServiceStub>,
}

/// A service name and the union of its instances' tags.
#[derive(Debug, Serialize, PartialEq)]
pub struct ServiceStub {
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
}

/// Groups registrations by namespace and name (`*` lists every namespace).
pub fn list_services<'a>(
    regs: impl Iterator<Item = &'a Arc<ServiceRegistration>>,
    namespace: &str,
) -> Vec<NamespaceServices> {
    let mut by_ns: BTreeMap<&str, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for r in regs.filter(|r| namespace == "*" || r.namespace == namespace) {
        let tags = by_ns
            .entry(&r.namespace)
            .or_default()
            .entry(&r.service_name)
            .or_default();
        tags.extend(r.tags.iter().map(String::as_str));
    }
    by_ns
        .into_iter()
        .map(|(ns, services)| NamespaceServices {
            namespace: ns.to_string(),
            services: services
                .into_iter()
                .map(|(name, tags)| ServiceStub {
                    service_name: name.to_string(),
                    tags: tags.into_iter().map(str::to_string).collect(),
                })
                .collect(),
        })
        .collect()
}

/// `?choose=N|key`: `N` instances picked by rendezvous hashing on `key`, so the same key gets
/// the same instances while the set is stable.
pub fn choose(
    mut regs: Vec<Arc<ServiceRegistration>>,
    spec: &str,
) -> Result<Vec<Arc<ServiceRegistration>>, HttpError> {
    let (n, key) = spec.split_once('|').unwrap_or((spec, ""));
    let n: usize = n.parse().map_err(|_| {
        HttpError::bad_request(format!("invalid choose parameter {spec:?}: expected N|key"))
    })?;
    let score = |id: &str| {
        key.bytes()
            .chain(id.bytes())
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
    };
    regs.sort_by_key(|r| std::cmp::Reverse(score(&r.id)));
    regs.truncate(n);
    Ok(regs)
}

/// `GET /v1/services?namespace=`.
pub async fn list(State(server): State<AppState>, list: ListQuery) -> Result<Response, HttpError> {
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.services).await?;
    let groups = list_services(view.services.values(), &opts.namespace);
    reply_list(
        &server,
        &list,
        view.tables.services,
        groups,
        Paging::NAMESPACE,
    )
}

/// `GET /v1/service/:name?namespace=&choose=`.
pub async fn get(
    State(server): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.services).await?;
    let mut regs = view.service_registrations(&opts.namespace, &name);
    if let Some(spec) = opts.raw.get("choose").filter(|s| !s.is_empty()) {
        regs = choose(regs, spec)?;
    }
    Ok(reply(&server, &opts, view.tables.services, &regs))
}

/// `DELETE /v1/service/:name/:id`.
pub async fn delete(
    State(server): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let resp = server
        .write(Command::DeleteServiceRegistration {
            namespace: opts.namespace.clone(),
            service_name: name,
            id,
        })
        .await?;
    Ok(reply(&server, &opts, resp.index, &serde_json::Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(ns: &str, name: &str, id: &str, tags: &[&str]) -> Arc<ServiceRegistration> {
        Arc::new(ServiceRegistration {
            id: id.into(),
            namespace: ns.into(),
            service_name: name.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..ServiceRegistration::default()
        })
    }

    #[test]
    fn list_groups_by_namespace_and_unions_tags() {
        let regs = [
            reg("default", "web", "1", &["a"]),
            reg("default", "web", "2", &["b", "a"]),
            reg("prod", "db", "3", &[]),
        ];
        let all = list_services(regs.iter(), "*");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].services[0].tags, vec!["a", "b"]);
        let one = list_services(regs.iter(), "prod");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].services[0].service_name, "db");
    }

    #[test]
    fn choose_is_stable_per_key() {
        let regs: Vec<_> = (0..5)
            .map(|i| reg("default", "web", &i.to_string(), &[]))
            .collect();
        let a = choose(regs.clone(), "2|k").expect("valid");
        let b = choose(regs.into_iter().rev().collect(), "2|k").expect("valid");
        assert_eq!(a.len(), 2);
        assert_eq!(a, b);
        assert!(choose(Vec::new(), "x|k").is_err());
    }
}
