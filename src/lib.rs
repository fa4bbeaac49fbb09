//! nomadish: the one binary. `cli` holds every command (Nomad's verbs and flags over the
//! HTTP API); `agent` runs a server and/or client in this process. `main.rs` only parses
//! the command line and calls [`cli::run`].
#![forbid(unsafe_code)]

pub mod agent;
pub mod cli;
