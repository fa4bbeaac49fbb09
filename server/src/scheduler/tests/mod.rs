//! Scheduler tests against an in-memory [`State`](super::State) fixture.

mod constraints;
mod fixture;
mod lifecycle;
mod placement;
mod props;
mod rescheduling;
mod system;
