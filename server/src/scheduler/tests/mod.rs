//! Scheduler tests against an in-memory [`State`](super::State) fixture.

mod constraints;
mod deployments;
mod fixture;
mod lifecycle;
mod placement;
mod ports;
mod preferences;
mod props;
mod quota;
mod rescheduling;
mod system;
mod volumes;
