//! nomadish-proto: the domain model shared by every crate, and the gRPC services between
//! clients and servers and among servers.
#![forbid(unsafe_code)]

pub mod alloc_path;
pub mod model;
pub mod tls;

/// Generated gRPC code, nested by protobuf package so cross-package references resolve.
pub mod nomadish {
    /// `nomadish.node.*`.
    pub mod node {
        /// The node service (client agents -> servers).
        pub mod v1 {
            #![allow(missing_docs, clippy::all, clippy::pedantic)]
            tonic::include_proto!("nomadish.node.v1");
        }
    }
    /// `nomadish.raft.*`.
    pub mod raft {
        /// The server-to-server services (Raft, cluster).
        pub mod v1 {
            #![allow(missing_docs, clippy::all, clippy::pedantic)]
            tonic::include_proto!("nomadish.raft.v1");
        }
    }
}

/// The encoded `FileDescriptorSet` of every `.proto` file: the services and their methods.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

pub use nomadish::node::v1 as node_v1;
pub use nomadish::raft::v1 as raft_v1;
