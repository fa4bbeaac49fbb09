//! The agent's link to the client crate: [`ClientConfig`], [`ClientError`] and
//! [`run_client`] (which reports the node's standing to a [`ClientStatus`]).

pub use nomadish_client::{ClientConfig, ClientError, ClientStatus, run_with_status as run_client};
