//! The SSH connection pool: one authenticated connection per (host, port, user), reused by
//! every task for that target and kept alive with keepalives; dials go through the
//! endpoint's circuit breaker.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use russh::client::{self, AuthResult, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};

use super::breaker::Breakers;
use super::config::{SshPluginConfig, SshTaskConfig};
use super::error::SshError;
use super::hostkey::{self, HostKeyError, HostKeyPolicy};

/// Pool key: where and as whom.
type PoolKey = (String, u16, String);
type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

/// One authenticated SSH connection.
pub struct Connection {
    /// The russh session handle: opens channels.
    pub handle: Handle<ClientHandler>,
    /// The key the server proved it holds.
    pub server_key: PublicKey,
    /// `host:port`.
    pub endpoint: String,
    /// Serial number of the connection within the pool (1 for the first one dialled).
    pub serial: u64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.endpoint)
            .field("serial", &self.serial)
            .finish()
    }
}

/// The SSH driver's shared state: configuration, pooled connections, circuit breakers.
#[derive(Debug)]
pub struct SshDriver {
    pub config: SshPluginConfig,
    breakers: Breakers,
    slots: Mutex<HashMap<PoolKey, Slot>>,
    dialled: AtomicU64,
}

impl SshDriver {
    /// A driver with an empty pool.
    pub fn new(config: SshPluginConfig) -> Self {
        Self {
            breakers: Breakers::new(
                config.circuit_breaker_failures,
                config.circuit_breaker_cooldown,
            ),
            config,
            slots: Mutex::new(HashMap::new()),
            dialled: AtomicU64::new(0),
        }
    }

    /// How many connections have been established so far (pool reuse keeps this low).
    pub fn connections_dialled(&self) -> u64 {
        self.dialled.load(Ordering::Relaxed)
    }

    /// A connection for the task's target: the pooled one if it is alive (its host key
    /// checked against this task's pin), else a new one through the circuit breaker.
    pub async fn connect(&self, task: &SshTaskConfig) -> Result<Arc<Connection>, SshError> {
        let key = (task.host.clone(), task.port, task.user.clone());
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        let mut pooled = slot.lock().await;
        if let Some(conn) = pooled.as_ref().filter(|c| !c.handle.is_closed()) {
            hostkey::verify(&conn.server_key, self.policy(task))?;
            return Ok(conn.clone());
        }
        *pooled = None;
        let endpoint = format!("{}:{}", task.host, task.port);
        self.breakers.check(&endpoint, SystemTime::now())?;
        let timeout = self.config.connect_timeout;
        let result = match tokio::time::timeout(timeout, self.dial(task, &endpoint)).await {
            Ok(result) => result,
            Err(_) => Err(SshError::Timeout {
                endpoint: endpoint.clone(),
                timeout,
            }),
        };
        match result {
            Ok(conn) => {
                self.breakers.success(&endpoint);
                let conn = Arc::new(conn);
                *pooled = Some(conn.clone());
                Ok(conn)
            }
            Err(e @ (SshError::Connect { .. } | SshError::Timeout { .. })) => {
                self.breakers.failure(&endpoint, SystemTime::now());
                Err(e)
            }
            Err(e) => {
                self.breakers.neutral(&endpoint);
                Err(e)
            }
        }
    }

    fn policy<'a>(&'a self, task: &'a SshTaskConfig) -> HostKeyPolicy<'a> {
        HostKeyPolicy {
            host: &task.host,
            port: task.port,
            pin: task.host_key.as_ref(),
            known_hosts: self.config.known_hosts_file.as_deref(),
            accept_new: self.config.insecure_accept_new_host_keys,
        }
    }

    /// Connects, checks the host key, and logs in with the client's key.
    async fn dial(&self, task: &SshTaskConfig, endpoint: &str) -> Result<Connection, SshError> {
        let key = self.private_key()?;
        let (mut handle, server_key) = self.handshake(task, endpoint).await?;
        let connect_err = |e: russh::Error| SshError::Connect {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        };
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .ok()
            .flatten()
            .flatten();
        let auth = handle
            .authenticate_publickey(&task.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(connect_err)?;
        if !matches!(auth, AuthResult::Success) {
            return Err(SshError::Auth {
                endpoint: endpoint.to_string(),
                user: task.user.clone(),
            });
        }
        let serial = self.dialled.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(%endpoint, user = %task.user, serial, "ssh connection established");
        Ok(Connection {
            handle,
            server_key,
            endpoint: endpoint.to_string(),
            serial,
        })
    }

    /// TCP connect and key exchange; returns the session and the host key it was checked
    /// against (a refused key is reported with its fingerprint).
    async fn handshake(
        &self,
        task: &SshTaskConfig,
        endpoint: &str,
    ) -> Result<(Handle<ClientHandler>, PublicKey), SshError> {
        let config = Arc::new(client::Config {
            keepalive_interval: Some(self.config.keepalive_interval),
            keepalive_max: self.config.keepalive_max,
            nodelay: true,
            ..Default::default()
        });
        let checked = Arc::new(Mutex::new(None));
        let handler = ClientHandler {
            policy: OwnedPolicy {
                host: task.host.clone(),
                port: task.port,
                pin: task.host_key.clone(),
                known_hosts: self.config.known_hosts_file.clone(),
                accept_new: self.config.insecure_accept_new_host_keys,
            },
            checked: checked.clone(),
        };
        let connected = client::connect(config, (task.host.as_str(), task.port), handler).await;
        let outcome = checked.lock().unwrap_or_else(|e| e.into_inner()).take();
        let connect_err = |reason: String| SshError::Connect {
            endpoint: endpoint.to_string(),
            reason,
        };
        match (connected, outcome) {
            (Ok(handle), Some((key, Ok(())))) => Ok((handle, key)),
            (_, Some((_, Err(refused)))) => Err(refused.into()),
            (Err(e), _) => Err(connect_err(e.to_string())),
            (Ok(_), None) => Err(connect_err("the server presented no host key".into())),
        }
    }

    fn private_key(&self) -> Result<PrivateKey, SshError> {
        let path = &self.config.private_key_file;
        russh::keys::load_secret_key(path, None).map_err(|e| SshError::PrivateKey {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}

/// The host key policy, owned by the connection's handler.
#[derive(Debug, Clone)]
struct OwnedPolicy {
    host: String,
    port: u16,
    pin: Option<super::config::HostKeyPin>,
    known_hosts: Option<std::path::PathBuf>,
    accept_new: bool,
}

/// What the handler saw: the offered key and the verdict.
type Checked = Arc<Mutex<Option<(PublicKey, Result<(), HostKeyError>)>>>;

/// The russh client handler: checks the server's host key.
pub struct ClientHandler {
    policy: OwnedPolicy,
    checked: Checked,
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // A host certificate is judged by the key it certifies: only pinned or known keys
        // are trusted, never a certificate authority.
        let certified;
        let key = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(cert) => {
                certified = PublicKey::new(cert.public_key().clone(), "");
                &certified
            }
        };
        let p = &self.policy;
        let verdict = hostkey::verify(
            key,
            HostKeyPolicy {
                host: &p.host,
                port: p.port,
                pin: p.pin.as_ref(),
                known_hosts: p.known_hosts.as_deref(),
                accept_new: p.accept_new,
            },
        );
        let ok = verdict.is_ok();
        *self.checked.lock().unwrap_or_else(|e| e.into_inner()) = Some((key.clone(), verdict));
        Ok(ok)
    }
}
