//! The agent's link to the client crate: [`ClientConfig`], [`ClientError`] and
//! [`run_client`].

pub use nomadish_client::{ClientConfig, ClientError, run as run_client};
