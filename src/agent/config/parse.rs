//! Agent configuration files: HCL parsed with hcl-edit (which keeps byte spans), walked by
//! hand so that every unknown key or bad value is reported as `FILE:LINE:COL`.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, Object, ObjectKey};
use hcl_edit::structure::{Attribute, Block, Body, Structure};

use super::resolve::MAX_RAFT_MULTIPLIER;
use super::{
    Advertise, AgentConfig, ClientBlock, ConfigError, Location, Ports, ServerBlock, TlsBlock,
};

/// Loads and merges configuration files in order; a directory stands for its `*.hcl` files
/// in lexical order. Each file's relative `tls` paths are taken from that file's directory.
pub fn load_files(paths: &[PathBuf]) -> Result<AgentConfig> {
    let mut merged = AgentConfig::default();
    for path in paths {
        for file in expand(path)? {
            let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            let mut parsed = parse_str(&file.display().to_string(), &text)?;
            parsed.tls.rebase(file.parent().unwrap_or(Path::new("")));
            merged = merged.merge(&parsed);
        }
    }
    Ok(merged)
}

/// A file as itself; a directory as its `*.hcl` files, sorted.
fn expand(path: &Path) -> Result<Vec<PathBuf>> {
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_err)? {
        let file = entry.map_err(read_err)?.path();
        if file.is_file() && file.extension().is_some_and(|e| e == "hcl") {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// Parses one configuration file's text; `file` names it in errors.
pub fn parse_str(file: &str, src: &str) -> Result<AgentConfig> {
    let body = hcl_edit::parser::parse_body(src).map_err(|e| ConfigError::Syntax {
        at: Location {
            file: file.to_string(),
            line: e.location().line(),
            column: e.location().column(),
        },
        message: e.message().to_string(),
    })?;
    Walker { file, src }.top(&body)
}

type Result<T> = std::result::Result<T, ConfigError>;

#[path = "host_volume.rs"]
pub(super) mod host_volume;

/// Walks a parsed body, knowing the file and text for error positions.
struct Walker<'a> {
    file: &'a str,
    src: &'a str,
}

impl Walker<'_> {
    /// The `FILE:LINE:COL` of a byte span's start.
    fn loc(&self, span: Option<Range<usize>>) -> Location {
        let offset = span.map_or(0, |r| r.start).min(self.src.len());
        let before = &self.src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            file: self.file.to_string(),
            line,
            column,
        }
    }

    fn unknown(&self, key: &str, span: Option<Range<usize>>, block: &str) -> ConfigError {
        ConfigError::UnknownKey {
            at: self.loc(span),
            key: key.to_string(),
            block: block.to_string(),
        }
    }

    fn invalid(&self, key: &str, span: Option<Range<usize>>, message: &str) -> ConfigError {
        ConfigError::InvalidValue {
            at: self.loc(span),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    fn top(&self, body: &Body) -> Result<AgentConfig> {
        let mut cfg = AgentConfig::default();
        for item in body.iter() {
            match item {
                Structure::Attribute(a) => self.top_attr(&mut cfg, a)?,
                Structure::Block(b) => self.top_block(&mut cfg, b)?,
            }
        }
        Ok(cfg)
    }

    fn top_attr(&self, cfg: &mut AgentConfig, a: &Attribute) -> Result<()> {
        match a.key.as_str() {
            "name" => cfg.name = Some(self.string(a)?),
            "region" => cfg.region = Some(self.string(a)?),
            "datacenter" => cfg.datacenter = Some(self.string(a)?),
            "data_dir" => cfg.data_dir = Some(PathBuf::from(self.string(a)?)),
            "bind_addr" => cfg.bind_addr = Some(self.string(a)?),
            "log_level" => cfg.log_level = Some(self.string(a)?),
            "log_json" => cfg.log_json = Some(self.boolean(a)?),
            key => return Err(self.unknown(key, a.key.span(), "the top level")),
        }
        Ok(())
    }

    fn top_block(&self, cfg: &mut AgentConfig, b: &Block) -> Result<()> {
        match b.ident.as_str() {
            "ports" => self.ports(&mut cfg.ports, self.unlabeled(b)?),
            "advertise" => self.advertise(&mut cfg.advertise, self.unlabeled(b)?),
            "server" => self.server(&mut cfg.server, self.unlabeled(b)?),
            "client" => self.client(&mut cfg.client, self.unlabeled(b)?),
            "plugin" => self.plugin(cfg, b),
            "tls" => self.tls(&mut cfg.tls, self.unlabeled(b)?),
            "acl" => self.acl(&mut cfg.acl, self.unlabeled(b)?),
            "audit" => self.audit(&mut cfg.audit, self.unlabeled(b)?),
            key => Err(self.unknown(key, b.ident.span(), "the top level")),
        }
    }

    /// The body of a block that must not have labels.
    fn unlabeled<'b>(&self, b: &'b Block) -> Result<&'b Body> {
        match b.labels.first() {
            None => Ok(&b.body),
            Some(label) => {
                Err(self.invalid(b.ident.as_str(), label.span(), "this block takes no labels"))
            }
        }
    }

    fn ports(&self, ports: &mut Ports, body: &Body) -> Result<()> {
        for a in self.attributes(body, "ports")? {
            match a.key.as_str() {
                "http" => ports.http = Some(self.uint(a)?),
                "rpc" => ports.rpc = Some(self.uint(a)?),
                // Nomad's gossip port; nomadish has no gossip layer, so it is accepted and unused.
                "serf" => {
                    self.uint::<u16>(a)?;
                }
                key => return Err(self.unknown(key, a.key.span(), "ports")),
            }
        }
        Ok(())
    }

    fn advertise(&self, adv: &mut Advertise, body: &Body) -> Result<()> {
        for a in self.attributes(body, "advertise")? {
            match a.key.as_str() {
                "http" => adv.http = Some(self.string(a)?),
                "rpc" => adv.rpc = Some(self.string(a)?),
                // Nomad's gossip address; accepted and unused (see `ports`).
                "serf" => {
                    self.string(a)?;
                }
                key => return Err(self.unknown(key, a.key.span(), "advertise")),
            }
        }
        Ok(())
    }

    fn server(&self, server: &mut ServerBlock, body: &Body) -> Result<()> {
        for item in body.iter() {
            match item {
                Structure::Block(b) if b.ident.as_str() == "server_join" => {
                    self.server_join(server, self.unlabeled(b)?)?;
                }
                Structure::Block(b) => {
                    return Err(self.unknown(b.ident.as_str(), b.ident.span(), "server"));
                }
                Structure::Attribute(a) => self.server_attr(server, a)?,
            }
        }
        Ok(())
    }

    fn server_attr(&self, server: &mut ServerBlock, a: &Attribute) -> Result<()> {
        match a.key.as_str() {
            "enabled" => server.enabled = Some(self.boolean(a)?),
            "bootstrap_expect" => server.bootstrap_expect = Some(self.uint(a)?),
            "raft_multiplier" => {
                let max = u64::from(MAX_RAFT_MULTIPLIER);
                server.raft_multiplier = Some(self.uint_in(a, 1, max)? as u32);
            }
            "snapshot_threshold" | "raft_snapshot_threshold" => {
                server.snapshot_threshold = Some(self.uint_in(a, 1, u64::MAX)?);
            }
            "raft_trailing_logs" => server.trailing_logs = Some(self.uint(a)?),
            // Nomad's older spelling of `server_join { retry_join }`.
            "retry_join" => server.retry_join.extend(self.strings(a)?),
            "num_schedulers" => server.num_schedulers = Some(self.uint(a)?),
            "heartbeat_grace" => server.heartbeat_grace = Some(self.duration(a)?),
            "min_heartbeat_ttl" => server.min_heartbeat_ttl = Some(self.duration(a)?),
            "max_heartbeats_per_second" => {
                server.max_heartbeats_per_second = Some(self.float(a)?);
            }
            "failover_heartbeat_ttl" => server.failover_heartbeat_ttl = Some(self.duration(a)?),
            key if super::gc::GC_ATTRIBUTES.contains(&key) => {
                server.gc.set(key, self.duration(a)?);
            }
            key => return Err(self.unknown(key, a.key.span(), "server")),
        }
        Ok(())
    }

    fn server_join(&self, server: &mut ServerBlock, body: &Body) -> Result<()> {
        for a in self.attributes(body, "server_join")? {
            match a.key.as_str() {
                "retry_join" => server.retry_join.extend(self.strings(a)?),
                key => return Err(self.unknown(key, a.key.span(), "server_join")),
            }
        }
        Ok(())
    }

    fn acl(&self, acl: &mut super::AclBlock, body: &Body) -> Result<()> {
        for a in self.attributes(body, "acl")? {
            match a.key.as_str() {
                "enabled" => acl.enabled = Some(self.boolean(a)?),
                "token_ttl" => acl.token_ttl = Some(self.duration(a)?),
                "policy_ttl" => acl.policy_ttl = Some(self.duration(a)?),
                key => return Err(self.unknown(key, a.key.span(), "acl")),
            }
        }
        Ok(())
    }

    fn audit(&self, audit: &mut super::AuditBlock, body: &Body) -> Result<()> {
        for a in self.attributes(body, "audit")? {
            match a.key.as_str() {
                "enabled" => audit.enabled = Some(self.boolean(a)?),
                "path" => audit.path = Some(self.path(a)?),
                key => return Err(self.unknown(key, a.key.span(), "audit")),
            }
        }
        Ok(())
    }

    fn tls(&self, tls: &mut TlsBlock, body: &Body) -> Result<()> {
        for a in self.attributes(body, "tls")? {
            match a.key.as_str() {
                "http" => tls.http = Some(self.boolean(a)?),
                "rpc" => tls.rpc = Some(self.boolean(a)?),
                "ca_file" => tls.ca_file = Some(self.path(a)?),
                "cert_file" => tls.cert_file = Some(self.path(a)?),
                "key_file" => tls.key_file = Some(self.path(a)?),
                "verify_server_hostname" => tls.verify_server_hostname = Some(self.boolean(a)?),
                "verify_https_client" => tls.verify_https_client = Some(self.boolean(a)?),
                key => return Err(self.unknown(key, a.key.span(), "tls")),
            }
        }
        Ok(())
    }

    fn client(&self, client: &mut ClientBlock, body: &Body) -> Result<()> {
        for item in body.iter() {
            match item {
                Structure::Block(b) if b.ident.as_str() == "meta" => {
                    client.meta.extend(self.meta_block(self.unlabeled(b)?)?);
                }
                Structure::Block(b) if b.ident.as_str() == "host_volume" => {
                    let (name, volume) = self.host_volume(b)?;
                    client.host_volumes.insert(name, volume);
                }
                Structure::Block(b) => {
                    return Err(self.unknown(b.ident.as_str(), b.ident.span(), "client"));
                }
                Structure::Attribute(a) => self.client_attr(client, a)?,
            }
        }
        Ok(())
    }

    fn client_attr(&self, client: &mut ClientBlock, a: &Attribute) -> Result<()> {
        match a.key.as_str() {
            "enabled" => client.enabled = Some(self.boolean(a)?),
            "servers" => client.servers.extend(self.strings(a)?),
            "node_class" => client.node_class = Some(self.string(a)?),
            "node_pool" => client.node_pool = Some(self.string(a)?),
            "max_kill_timeout" => client.max_kill_timeout = Some(self.duration(a)?),
            "meta" => match &a.value {
                Expression::Object(obj) => client.meta.extend(self.meta_object(obj)?),
                other => return Err(self.invalid("meta", other.span(), "expected an object")),
            },
            key => return Err(self.unknown(key, a.key.span(), "client")),
        }
        Ok(())
    }

    /// `plugin "raw_exec" { config { enabled = true } }`, and the `config` of the other
    /// driver plugins, checked by their driver; unknown plugins are refused.
    fn plugin(&self, cfg: &mut AgentConfig, b: &Block) -> Result<()> {
        let name = match b.labels.as_slice() {
            [label] => label,
            _ => return Err(self.invalid("plugin", b.ident.span(), "expected one label")),
        };
        if nomadish_client::driver::PLUGINS.contains(&name.as_str()) {
            return self.driver_plugin(cfg, name.as_str(), b);
        }
        if name.as_str() != "raw_exec" {
            return Err(self.invalid(
                "plugin",
                name.span(),
                &format!(
                    "unsupported plugin {:?} (supported: \"raw_exec\", {})",
                    name.as_str(),
                    nomadish_client::driver::PLUGINS
                        .iter()
                        .map(|p| format!("{p:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        for item in b.body.iter() {
            match item {
                Structure::Block(c) if c.ident.as_str() == "config" => {
                    for a in self.attributes(self.unlabeled(c)?, "plugin config")? {
                        match a.key.as_str() {
                            "enabled" => cfg.raw_exec_enabled = Some(self.boolean(a)?),
                            key => return Err(self.unknown(key, a.key.span(), "plugin config")),
                        }
                    }
                }
                Structure::Block(c) => {
                    return Err(self.unknown(c.ident.as_str(), c.ident.span(), "plugin"));
                }
                Structure::Attribute(a) => {
                    return Err(self.unknown(a.key.as_str(), a.key.span(), "plugin"));
                }
            }
        }
        Ok(())
    }

    /// The attributes of a block that must hold no blocks.
    /// `plugin "docker" { config { ... } }` (or another driver plugin): the `config` body
    /// becomes JSON for the driver, which checks it now so mistakes point at the file.
    fn driver_plugin(&self, cfg: &mut AgentConfig, name: &str, b: &Block) -> Result<()> {
        let mut config = serde_json::Value::Object(Default::default());
        for item in b.body.iter() {
            match item {
                Structure::Block(c) if c.ident.as_str() == "config" => {
                    let body: hcl::Body = self.unlabeled(c)?.clone().into();
                    config = hcl::from_body(body).map_err(|e| {
                        self.invalid("plugin config", c.ident.span(), &e.to_string())
                    })?;
                    nomadish_client::driver::validate_plugin_config(name, &config).map_err(
                        |reason| {
                            self.invalid(
                                "plugin config",
                                c.ident.span(),
                                &format!("plugin {name:?}: {reason}"),
                            )
                        },
                    )?;
                }
                Structure::Block(c) => {
                    return Err(self.unknown(c.ident.as_str(), c.ident.span(), "plugin"));
                }
                Structure::Attribute(a) => {
                    return Err(self.unknown(a.key.as_str(), a.key.span(), "plugin"));
                }
            }
        }
        cfg.plugins.insert(name.to_string(), config);
        Ok(())
    }

    fn attributes<'b>(&self, body: &'b Body, block: &str) -> Result<Vec<&'b Attribute>> {
        body.iter()
            .map(|item| match item {
                Structure::Attribute(a) => Ok(a),
                Structure::Block(b) => Err(self.unknown(b.ident.as_str(), b.ident.span(), block)),
            })
            .collect()
    }

    fn meta_block(&self, body: &Body) -> Result<Vec<(String, String)>> {
        self.attributes(body, "meta")?
            .into_iter()
            .map(|a| {
                Ok((
                    a.key.as_str().to_string(),
                    self.scalar(a.key.as_str(), &a.value)?,
                ))
            })
            .collect()
    }

    fn meta_object(&self, obj: &Object) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (key, value) in obj.iter() {
            let name = match key {
                ObjectKey::Ident(ident) => ident.as_str().to_string(),
                ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                ObjectKey::Expression(e) => {
                    return Err(self.invalid("meta", e.span(), "keys must be names or strings"));
                }
            };
            let text = self.scalar(&name, value.expr())?;
            out.push((name, text));
        }
        Ok(out)
    }

    /// A string, number or boolean as text (meta values).
    fn scalar(&self, key: &str, expr: &Expression) -> Result<String> {
        match expr {
            Expression::String(s) => Ok(s.value().clone()),
            Expression::Number(n) => Ok(n.value().to_string()),
            Expression::Bool(b) => Ok(b.value().to_string()),
            other => Err(self.invalid(key, other.span(), "expected a string")),
        }
    }

    fn string(&self, a: &Attribute) -> Result<String> {
        match &a.value {
            Expression::String(s) => Ok(s.value().clone()),
            other => Err(self.invalid(a.key.as_str(), other.span(), "expected a string")),
        }
    }

    fn boolean(&self, a: &Attribute) -> Result<bool> {
        match &a.value {
            Expression::Bool(b) => Ok(*b.value()),
            other => Err(self.invalid(a.key.as_str(), other.span(), "expected true or false")),
        }
    }

    fn uint<T: TryFrom<u64>>(&self, a: &Attribute) -> Result<T> {
        let bad = |msg: &str| self.invalid(a.key.as_str(), a.value.span(), msg);
        match &a.value {
            Expression::Number(n) => {
                let v = n
                    .value()
                    .as_u64()
                    .ok_or_else(|| bad("expected a whole number"))?;
                T::try_from(v).map_err(|_| bad("number out of range"))
            }
            _ => Err(bad("expected a whole number")),
        }
    }

    /// A whole number in `min..=max`.
    fn uint_in(&self, a: &Attribute, min: u64, max: u64) -> Result<u64> {
        let v: u64 = self.uint(a)?;
        if (min..=max).contains(&v) {
            return Ok(v);
        }
        let message = if max == u64::MAX {
            format!("must be at least {min}")
        } else {
            format!("must be between {min} and {max}")
        };
        Err(self.invalid(a.key.as_str(), a.value.span(), &message))
    }

    /// A non-empty file path.
    fn path(&self, a: &Attribute) -> Result<PathBuf> {
        let text = self.string(a)?;
        if text.trim().is_empty() {
            return Err(self.invalid(a.key.as_str(), a.value.span(), "expected a file path"));
        }
        Ok(PathBuf::from(text))
    }

    fn float(&self, a: &Attribute) -> Result<f64> {
        match &a.value {
            Expression::Number(n) => n
                .value()
                .as_f64()
                .ok_or_else(|| self.invalid(a.key.as_str(), a.value.span(), "expected a number")),
            other => Err(self.invalid(a.key.as_str(), other.span(), "expected a number")),
        }
    }

    /// A Go-style duration string (`"10s"`, `"1m30s"`, `"500ms"`).
    fn duration(&self, a: &Attribute) -> Result<Duration> {
        let text = self.string(a)?;
        parse_go_duration(&text).ok_or_else(|| {
            self.invalid(
                a.key.as_str(),
                a.value.span(),
                &format!("{text:?} is not a duration (e.g. \"10s\", \"1m30s\")"),
            )
        })
    }

    fn strings(&self, a: &Attribute) -> Result<Vec<String>> {
        let bad = |span| self.invalid(a.key.as_str(), span, "expected a list of strings");
        match &a.value {
            Expression::Array(items) => items
                .iter()
                .map(|e| match e {
                    Expression::String(s) => Ok(s.value().clone()),
                    other => Err(bad(other.span())),
                })
                .collect(),
            other => Err(bad(other.span())),
        }
    }
}

/// Parses Go's duration syntax (`1h2m3.5s`, `250ms`, `0`), which has no spaces between
/// units; humantime does the unit arithmetic.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() || text.contains(char::is_whitespace) || text.starts_with('-') {
        return None;
    }
    humantime::parse_duration(text).ok()
}
