//! Integration tests of the client agent against an in-process fake NodeService: real
//! processes through raw_exec, real log files, real gRPC on loopback.

mod batch;
mod fake;
mod harness;
mod recovery;
mod restarts;
mod stop;
mod sync;
