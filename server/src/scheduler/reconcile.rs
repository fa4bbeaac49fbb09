//! Reconciling one task group: what should exist (`Count` allocations named
//! `<job>.<group>[0..Count]`) against what does.
//!
//! ```text
//!   each allocation of the group ──classify──> ignored      (stopping, or finished and replaceable)
//!                                          ├─> slot kept    (running, batch done, failed but not
//!                                          │                 rescheduled: maybe updated in place,
//!                                          │                 destructively, or followed up later)
//!                                          └─> slot replaced (lost node, migrating, rescheduled now)
//!   slots > Count  ──> drop replaced slots, then kept ones, highest index first (stop them)
//!   slots < Count  ──> place the lowest free indexes
//! ```

use std::cmp::Reverse;
use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED, Allocation, DesiredUpdates, Job,
    NODE_STATUS_DISCONNECTED, NODE_STATUS_DOWN, TASK_STATE_DEAD, TaskGroup,
};

use super::nodes::NodeTable;
use super::reschedule::{self, Decision};
use super::update::{same_job, tasks_updated};

/// Stop reason: the job no longer wants the allocation (count lowered, job stopped...).
pub const ALLOC_NOT_NEEDED: &str = "alloc not needed due to job update";
/// Stop reason: the allocation moves to another node.
pub const ALLOC_MIGRATING: &str = "alloc is being migrated";
/// Stop reason: a destructive job update replaces the allocation.
pub const ALLOC_UPDATING: &str = "alloc is being updated due to job update";
/// Stop reason: the allocation's node is down.
pub const ALLOC_LOST: &str = "alloc is lost since its node is down";
/// Stop reason: a system job's allocation on a draining node.
pub const ALLOC_NODE_TAINTED: &str = "alloc not needed as node is tainted";
/// Stop reason: the allocation failed and a replacement is placed.
pub const ALLOC_RESCHEDULED: &str = "alloc was rescheduled because it failed";

/// Why a placement is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaceKind {
    New,
    Lost,
    Migrate,
    Reschedule,
    Destructive,
    /// A canary of a new job version, placed beside the allocation it will replace.
    Canary,
}

/// An allocation to place.
pub(crate) struct Placement {
    pub index: u64,
    pub previous: Option<Arc<Allocation>>,
    pub kind: PlaceKind,
}

/// An allocation to stop.
pub(crate) struct Stop {
    pub alloc: Arc<Allocation>,
    pub description: &'static str,
    /// Mark the allocation's client status `lost` too.
    pub lost: bool,
}

/// What the plan must do for one group.
#[derive(Default)]
pub(crate) struct GroupDiff {
    pub stops: Vec<Stop>,
    pub inplace: Vec<Arc<Allocation>>,
    pub place: Vec<Placement>,
    /// Failed allocations to reschedule later, with their due time.
    pub later: Vec<(Arc<Allocation>, i64)>,
    pub desired: DesiredUpdates,
}

/// What reconciliation needs besides the allocations.
pub(crate) struct Ctx<'a> {
    pub job: &'a Arc<Job>,
    pub batch: bool,
    pub eval_id: &'a str,
    pub now: i64,
    pub table: &'a NodeTable<'a>,
    /// Whether the allocation's node still accepts the new job version (for in-place updates).
    pub inplace_ok: &'a dyn Fn(&Allocation) -> bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Update {
    Ignore,
    InPlace,
    Destructive,
    Later(i64),
}

enum Slot {
    Keep(Update),
    Replace(PlaceKind),
}

struct Holder {
    alloc: Arc<Allocation>,
    index: u64,
    slot: Slot,
}

/// Reconciles one group of the current job.
pub(crate) fn reconcile_group(
    ctx: &Ctx<'_>,
    group: &TaskGroup,
    allocs: &[Arc<Allocation>],
) -> GroupDiff {
    let mut holders: Vec<Holder> = allocs
        .iter()
        .filter_map(|a| {
            classify(ctx, group, a).map(|slot| Holder {
                alloc: a.clone(),
                index: a.index(),
                slot,
            })
        })
        .collect();
    holders.sort_by(|a, b| (a.index, &a.alloc.id).cmp(&(b.index, &b.alloc.id)));
    let mut diff = GroupDiff::default();
    let count = usize::try_from(group.count).unwrap_or(0);
    let holders = trim_excess(holders, count, &mut diff);
    let mut used: Vec<u64> = holders.iter().map(|h| h.index).collect();
    for h in holders {
        apply(h, &mut diff);
    }
    used.sort_unstable();
    let missing = count.saturating_sub(used.len());
    let mut next = 0u64;
    for _ in 0..missing {
        while used.binary_search(&next).is_ok() {
            next += 1;
        }
        diff.place.push(Placement {
            index: next,
            previous: None,
            kind: PlaceKind::New,
        });
        diff.desired.place += 1;
        next += 1;
    }
    diff.place
        .sort_by_key(|p| (p.kind == PlaceKind::Destructive, p.index));
    diff
}

/// Stops every allocation that is not already stopping (job stopped, or group removed).
pub(crate) fn stop_all(table: &NodeTable<'_>, allocs: &[Arc<Allocation>], diff: &mut GroupDiff) {
    for alloc in allocs.iter().filter(|a| !a.server_terminal()) {
        let lost = !alloc.client_terminal() && node_lost(table, alloc);
        diff.stops.push(Stop {
            alloc: alloc.clone(),
            description: if lost { ALLOC_LOST } else { ALLOC_NOT_NEEDED },
            lost,
        });
        diff.desired.stop += 1;
    }
}

fn classify(ctx: &Ctx<'_>, group: &TaskGroup, alloc: &Arc<Allocation>) -> Option<Slot> {
    if ctx.batch && alloc.terminal() && older(alloc, ctx.job) {
        return None;
    }
    if alloc.server_terminal() {
        return (ctx.batch && ran_successfully(alloc)).then_some(Slot::Keep(Update::Ignore));
    }
    if !alloc.client_terminal() {
        if node_lost(ctx.table, alloc) {
            return Some(Slot::Replace(PlaceKind::Lost));
        }
        if alloc.desired_transition.migrate == Some(true) {
            return Some(Slot::Replace(PlaceKind::Migrate));
        }
        return Some(Slot::Keep(update_kind(ctx, group, alloc)));
    }
    match alloc.client_status.as_str() {
        ALLOC_CLIENT_COMPLETE if ctx.batch => Some(Slot::Keep(Update::Ignore)),
        ALLOC_CLIENT_FAILED => {
            let policy = alloc
                .job
                .as_ref()
                .and_then(|j| j.group(&group.name))
                .unwrap_or(group)
                .reschedule_policy
                .as_ref();
            let decision = reschedule::decide(alloc, policy, ctx.eval_id, ctx.now);
            if decision == Decision::Now {
                return Some(Slot::Replace(PlaceKind::Reschedule));
            }
            Some(Slot::Keep(
                match (update_kind(ctx, group, alloc), decision) {
                    (Update::Destructive, _) => Update::Destructive,
                    (_, Decision::Later(at)) => Update::Later(at),
                    _ => Update::Ignore,
                },
            ))
        }
        _ => None,
    }
}

fn update_kind(ctx: &Ctx<'_>, group: &TaskGroup, alloc: &Allocation) -> Update {
    if same_job(alloc.job.as_ref(), ctx.job) {
        return Update::Ignore;
    }
    let Some(old) = alloc.job.as_deref() else {
        return Update::Destructive;
    };
    if tasks_updated(old, ctx.job, &group.name) {
        Update::Destructive
    } else if alloc.terminal() {
        Update::Ignore
    } else if (ctx.inplace_ok)(alloc) {
        Update::InPlace
    } else {
        Update::Destructive
    }
}

/// Drops slots beyond `count`: replaced ones first, then kept ones, highest index first.
fn trim_excess(mut holders: Vec<Holder>, count: usize, diff: &mut GroupDiff) -> Vec<Holder> {
    if holders.len() <= count {
        return holders;
    }
    // An outdated allocation sharing its slot with another (a promoted canary) goes first.
    let mut per_index = std::collections::BTreeMap::<u64, usize>::new();
    for h in &holders {
        *per_index.entry(h.index).or_default() += 1;
    }
    let superseded = |h: &Holder| {
        per_index[&h.index] > 1
            && (h.alloc.client_terminal()
                || matches!(h.slot, Slot::Keep(Update::Destructive | Update::Later(_))))
    };
    holders.sort_by_key(|h| {
        (
            matches!(h.slot, Slot::Keep(_)),
            !superseded(h),
            Reverse(h.index),
        )
    });
    let keep = holders.split_off(holders.len() - count);
    for h in holders {
        let (description, lost) = match h.slot {
            Slot::Replace(PlaceKind::Lost) => (ALLOC_LOST, true),
            Slot::Keep(_) if h.alloc.client_terminal() => continue,
            _ => (ALLOC_NOT_NEEDED, false),
        };
        diff.stops.push(Stop {
            alloc: h.alloc,
            description,
            lost,
        });
        diff.desired.stop += 1;
    }
    keep
}

fn apply(h: Holder, diff: &mut GroupDiff) {
    let replace = |diff: &mut GroupDiff, kind: PlaceKind, description, lost| {
        diff.stops.push(Stop {
            alloc: h.alloc.clone(),
            description,
            lost,
        });
        diff.place.push(Placement {
            index: h.index,
            previous: Some(h.alloc.clone()),
            kind,
        });
    };
    match h.slot {
        Slot::Keep(Update::Ignore) => diff.desired.ignore += 1,
        Slot::Keep(Update::InPlace) => {
            diff.desired.in_place_update += 1;
            diff.inplace.push(h.alloc.clone());
        }
        Slot::Keep(Update::Later(at)) => {
            diff.desired.reschedule_later += 1;
            diff.desired.ignore += 1;
            diff.later.push((h.alloc.clone(), at));
        }
        Slot::Keep(Update::Destructive) => {
            diff.desired.destructive_update += 1;
            replace(diff, PlaceKind::Destructive, ALLOC_UPDATING, false);
        }
        Slot::Replace(PlaceKind::Lost) => {
            diff.desired.place += 1;
            diff.desired.stop += 1;
            replace(diff, PlaceKind::Lost, ALLOC_LOST, true);
        }
        Slot::Replace(PlaceKind::Migrate) => {
            diff.desired.migrate += 1;
            replace(diff, PlaceKind::Migrate, ALLOC_MIGRATING, false);
        }
        Slot::Replace(kind) => {
            diff.desired.place += 1;
            diff.desired.reschedule_now += 1;
            replace(diff, kind, ALLOC_RESCHEDULED, false);
        }
    }
}

/// Whether the allocation's node is gone, down or disconnected.
pub(crate) fn node_lost(table: &NodeTable<'_>, alloc: &Allocation) -> bool {
    table
        .get(&alloc.node_id)
        .is_none_or(|n| n.status == NODE_STATUS_DOWN || n.status == NODE_STATUS_DISCONNECTED)
}

/// Whether every task of the allocation finished successfully.
pub(crate) fn ran_successfully(alloc: &Allocation) -> bool {
    !alloc.task_states.is_empty()
        && alloc
            .task_states
            .values()
            .all(|s| s.state == TASK_STATE_DEAD && !s.failed)
}

/// Whether the allocation runs an older registration of the job.
pub(crate) fn older(alloc: &Allocation, job: &Job) -> bool {
    alloc
        .job
        .as_ref()
        .is_none_or(|j| j.version < job.version || j.create_index < job.create_index)
}
