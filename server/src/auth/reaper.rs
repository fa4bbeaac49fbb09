//! The leader's collector of expired tokens (they stop working at expiry; this removes them
//! from the state afterwards, as Nomad's token GC does).

use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::now_ns;
use tokio::sync::watch;

use crate::fsm::Command;
use crate::fsm::acl::AclOp;
use crate::server::Server;

/// How often expired tokens are looked for.
pub const REAP_INTERVAL: Duration = Duration::from_secs(30);

/// Runs until `shutdown` changes.
pub async fn run_token_reaper(server: Arc<Server>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(REAP_INTERVAL);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = now_ns();
        let expired: Vec<String> = server
            .state
            .snapshot()
            .acl
            .tokens
            .values()
            .filter(|t| t.expired_at(now))
            .map(|t| t.accessor_id.clone())
            .collect();
        if expired.is_empty() {
            continue;
        }
        let op = AclOp::ReapExpiredTokens {
            accessors: expired,
            now,
        };
        if let Err(e) = server.write(Command::ApplyAcl { op }).await {
            tracing::warn!(error = %e, "expired token collection failed");
        }
    }
}
