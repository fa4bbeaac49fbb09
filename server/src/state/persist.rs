//! Snapshot encoding of a [`StateView`]: the durable form of the tables.
//!
//! Allocations are stored without their embedded job; the job is re-linked from the tracked
//! versions on decode (and embedded only when its version is no longer tracked), so a snapshot
//! holds each job version once.

use std::borrow::Cow;
use std::sync::Arc;

use nomadish_proto::model::{
    Allocation, Deployment, Evaluation, Job, Namespace, Node, SchedulerConfiguration,
    ServiceRegistration,
};
use serde::{Deserialize, Serialize};

use super::{
    AclSnapshot, AclTables, PeriodicLaunch, RootKey, StateView, StoredVariable, TableIndexes,
};

/// A snapshot could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("corrupt state snapshot: {source}")]
pub struct SnapshotError {
    #[from]
    source: serde_json::Error,
}

#[derive(Serialize, Deserialize)]
struct SnapshotAlloc {
    alloc: Allocation,
    /// The job version, when it is among the tracked versions.
    version: Option<u64>,
    /// The job itself, when its version is no longer tracked.
    job: Option<Job>,
}

/// Encoded from borrowed tables (no copy of the state), decoded into owned ones. `A` is the
/// allocations: decoded as a `Vec`, encoded by [`AllocsOf`] one at a time.
#[derive(Serialize, Deserialize)]
struct Snapshot<'a, A = Vec<SnapshotAlloc>> {
    format: u32,
    index: u64,
    tables: TableIndexes,
    jobs: Vec<Cow<'a, Job>>,
    job_versions: Vec<Cow<'a, Job>>,
    evals: Vec<Cow<'a, Evaluation>>,
    allocs: A,
    nodes: Vec<Cow<'a, Node>>,
    #[serde(default)]
    deployments: Vec<Cow<'a, Deployment>>,
    #[serde(default)]
    periodic_launches: Vec<Cow<'a, PeriodicLaunch>>,
    /// Absent when never set, so states without one encode (and digest) as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheduler_config: Option<Cow<'a, SchedulerConfiguration>>,
    /// The service catalog; absent when empty, so states without services digest as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    services: Vec<Cow<'a, ServiceRegistration>>,
    /// Nomad Variables (items sealed); absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    variables: Vec<Cow<'a, StoredVariable>>,
    /// The root key sealing variables; absent until the first variables write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root_key: Option<Cow<'a, RootKey>>,
    /// ACL policies, tokens (secret hashes only) and the salt; absent before bootstrap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acl: Option<AclSnapshot>,
    /// Namespaces written by operators; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    namespaces: Vec<Cow<'a, Namespace>>,
    /// The autopilot configuration; absent when never set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    autopilot_config: Option<Cow<'a, nomadish_proto::model::AutopilotConfiguration>>,
}

const FORMAT_VERSION: u32 = 1;

/// Starts a snapshot compressed by [`encode_stored_snapshot`]; JSON never starts with it.
const COMPRESSED_MAGIC: &[u8] = b"NMDZ1";

/// The view's allocations, serialized one at a time: each is copied without its job just
/// while it is written, so encoding holds no second copy of the allocation table (at
/// 1,000,000 allocations that copy was gigabytes).
struct AllocsOf<'a>(&'a StateView);

impl Serialize for AllocsOf<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let view = self.0;
        serializer.collect_seq(view.allocs.values().map(|a| {
            let mut alloc = Allocation::clone(a);
            let job = alloc.job.take();
            let tracked = job.as_ref().is_some_and(|j| {
                view.job_versions
                    .contains_key(&(j.namespace.clone(), j.id.clone(), j.version))
            });
            SnapshotAlloc {
                version: job.as_ref().filter(|_| tracked).map(|j| j.version),
                job: job.filter(|_| !tracked).map(|j| Job::clone(&j)),
                alloc,
            }
        }))
    }
}

/// Serializes the view as JSON (what `operator snapshot save` returns and the digest hashes).
pub fn encode_snapshot(view: &StateView) -> Vec<u8> {
    let mut out = Vec::new();
    write_snapshot(view, &mut out).unwrap_or_default();
    out
}

/// Serializes the view as raft stores and ships it: [`COMPRESSED_MAGIC`], then the JSON
/// deflated as it is written (fast level). The state's JSON compresses about tenfold, and
/// the whole JSON never sits in memory.
pub fn encode_stored_snapshot(view: &StateView) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut out = Vec::new();
    out.write_all(COMPRESSED_MAGIC)?;
    let mut deflate = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
    write_snapshot(
        view,
        std::io::BufWriter::with_capacity(64 << 10, &mut deflate),
    )?;
    deflate.finish()
}

fn write_snapshot(view: &StateView, out: impl std::io::Write) -> std::io::Result<()> {
    let snap = Snapshot {
        format: FORMAT_VERSION,
        index: view.index,
        tables: view.tables,
        jobs: view.jobs.values().map(|v| Cow::Borrowed(&**v)).collect(),
        job_versions: view
            .job_versions
            .values()
            .map(|v| Cow::Borrowed(&**v))
            .collect(),
        evals: view.evals.values().map(|v| Cow::Borrowed(&**v)).collect(),
        allocs: AllocsOf(view),
        nodes: view.nodes.values().map(|v| Cow::Borrowed(&**v)).collect(),
        deployments: view
            .deployments
            .values()
            .map(|v| Cow::Borrowed(&**v))
            .collect(),
        periodic_launches: view.periodic_launches.values().map(Cow::Borrowed).collect(),
        scheduler_config: view.scheduler_config.as_deref().map(Cow::Borrowed),
        services: view
            .services
            .values()
            .map(|v| Cow::Borrowed(&**v))
            .collect(),
        variables: view
            .variables
            .values()
            .map(|v| Cow::Borrowed(&**v))
            .collect(),
        root_key: view.root_key.as_deref().map(Cow::Borrowed),
        acl: view.acl.to_snapshot(),
        namespaces: view
            .namespaces
            .values()
            .map(|v| Cow::Borrowed(&**v))
            .collect(),
        autopilot_config: view.autopilot_config.as_deref().map(Cow::Borrowed),
    };
    let mut out = out;
    serde_json::to_writer(&mut out, &snap)?;
    out.flush()
}

/// Rebuilds a view from [`encode_snapshot`]'s or [`encode_stored_snapshot`]'s bytes.
pub fn decode_snapshot(bytes: &[u8]) -> Result<StateView, SnapshotError> {
    let snap: Snapshot = match bytes.strip_prefix(COMPRESSED_MAGIC) {
        Some(deflated) => {
            use std::io::Read;
            let mut json = Vec::new();
            flate2::read::DeflateDecoder::new(deflated)
                .read_to_end(&mut json)
                .map_err(serde_json::Error::io)?;
            serde_json::from_slice(&json)?
        }
        None => serde_json::from_slice(bytes)?,
    };
    let mut view = StateView {
        index: snap.index,
        tables: snap.tables,
        scheduler_config: snap.scheduler_config.map(|c| Arc::new(c.into_owned())),
        autopilot_config: snap.autopilot_config.map(|c| Arc::new(c.into_owned())),
        root_key: snap.root_key.map(|k| Arc::new(k.into_owned())),
        acl: snap.acl.map(AclTables::from_snapshot).unwrap_or_default(),
        ..StateView::default()
    };
    for ns in snap.namespaces {
        let ns = ns.into_owned();
        view.namespaces.insert(ns.name.clone(), Arc::new(ns));
    }
    for v in snap.variables {
        let v = v.into_owned();
        let key = (v.meta.namespace.clone(), v.meta.path.clone());
        view.variables.insert(key, Arc::new(v));
    }
    for job in snap.job_versions {
        let job = job.into_owned();
        let key = (job.namespace.clone(), job.id.clone(), job.version);
        view.job_versions.insert(key, Arc::new(job));
    }
    for job in snap.jobs {
        let job = job.into_owned();
        let key = (job.namespace.clone(), job.id.clone());
        view.jobs.insert(key, Arc::new(job));
    }
    for e in snap.evals {
        view.put_eval(Arc::new(e.into_owned()));
    }
    for l in snap.periodic_launches {
        let l = l.into_owned();
        view.periodic_launches
            .insert((l.namespace.clone(), l.id.clone()), l);
    }
    for n in snap.nodes {
        let n = n.into_owned();
        view.nodes.insert(n.id.clone(), Arc::new(n));
    }
    for s in snap.services {
        let s = s.into_owned();
        view.services.insert(s.id.clone(), Arc::new(s));
    }
    for d in snap.deployments {
        let d = d.into_owned();
        view.deployments.insert(d.id.clone(), Arc::new(d));
    }
    for SnapshotAlloc {
        mut alloc,
        version,
        job,
    } in snap.allocs
    {
        alloc.job = match (version, job) {
            (Some(v), _) => view
                .job_versions
                .get(&(alloc.namespace.clone(), alloc.job_id.clone(), v))
                .cloned(),
            (None, Some(job)) => Some(Arc::new(job)),
            (None, None) => None,
        };
        view.put_alloc(Arc::new(alloc));
    }
    Ok(view)
}

/// A digest of the replicated tables (FNV-1a 64 over their canonical encoding): two servers at
/// the same index have the same digest exactly when their states are equal.
pub fn state_digest(view: &StateView) -> String {
    let bytes = encode_snapshot(view);
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}
