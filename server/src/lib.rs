//! nomadish-server: raft-replicated state, the scheduler, the eval broker, the plan applier,
//! heartbeats, the gRPC node service and the HTTP API.
#![forbid(unsafe_code)]

pub mod scheduler;
