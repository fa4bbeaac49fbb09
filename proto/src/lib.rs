//! nomadish-proto: the domain model shared by every crate, and the gRPC services between
//! clients and servers and among servers.
#![forbid(unsafe_code)]

pub mod model;

/// Generated gRPC code for the node service (client agents -> servers).
pub mod node_v1 {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("nomadish.node.v1");
}

/// Generated gRPC code for the server-to-server services (Raft, cluster).
pub mod raft_v1 {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("nomadish.raft.v1");
}
