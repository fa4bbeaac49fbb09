//! Control of a running task from outside its task runner: signals and `alloc exec`.
//!
//! A driver's handle hands out an `Arc<dyn TaskControl>` when the task starts; the client
//! keeps it while the task runs and uses it for `alloc signal` and `alloc exec`, which can
//! then run while the task runner waits on the handle itself.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use nix::sys::signal::Signal;
use tokio::sync::mpsc;

use super::ExitResult;
use crate::error::DriverError;

/// A boxed future, as the object-safe [`TaskControl`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What flows from the user into an exec session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecInput {
    /// Bytes for the command's stdin.
    Stdin(Vec<u8>),
    /// The user's stdin ended.
    CloseStdin,
    /// The user's terminal changed size (only meaningful with a TTY).
    Resize { cols: u16, rows: u16 },
}

/// What flows back from an exec session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutput {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// A command to run inside a running task, with its streams.
#[derive(Debug)]
pub struct ExecSession {
    /// The command and its arguments (`alloc exec ALLOC [TASK] CMD...`).
    pub command: Vec<String>,
    /// Whether to allocate a TTY (`-t`); stdout and stderr are then one stream.
    pub tty: bool,
    /// Input from the user; dropping the sender is the same as [`ExecInput::CloseStdin`].
    pub input: mpsc::Receiver<ExecInput>,
    /// Output to the user; the session ends early if the receiver is dropped.
    pub output: mpsc::Sender<ExecOutput>,
}

/// Signals and exec for a running task; cheap to share, valid while the task runs.
pub trait TaskControl: Send + Sync + Debug {
    /// Sends `signal` to the task (`alloc signal -s SIG`).
    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<(), DriverError>>;

    /// Runs a command inside the task's environment (container, remote host, or process
    /// context) and returns its exit status when it ends.
    fn exec(&self, session: ExecSession) -> BoxFuture<'_, Result<ExitResult, DriverError>>;

    /// The task's local process group, when it has one this client can measure in `/proc`
    /// (`alloc status -stats`); `None` for containers and remote tasks.
    fn process_group(&self) -> Option<i32> {
        None
    }
}
