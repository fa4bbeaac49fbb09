//! Walks the hcl-edit body of a policy (which keeps spans) and builds a [`Policy`], stopping at
//! the first problem in source order.
//!
//! ```text
//! source --hcl-edit--> Body --Decoder--> Policy
//!                        |                  (levels and capability names checked, not expanded)
//!                        +--> PolicyError { line, col, message }
//! ```

use std::collections::BTreeSet;

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Attribute, Block, Body, Structure};

use super::json;
use super::source::{Source, attr_offset, block_offset, syntax_error};
use super::{
    HostVolumeRule, Level, NamespaceRule, NodePoolRule, Policy, PolicyError, VariablesPathRule,
};
use crate::caps;

type Result<T> = std::result::Result<T, PolicyError>;

/// The rule blocks a policy may hold, for messages.
const RULE_BLOCKS: &str = "namespace, node_pool, host_volume, agent, node, operator, quota, plugin";

/// Levels Nomad accepts everywhere but in `plugin` rules.
const LEVELS: &[Level] = &[Level::Deny, Level::Read, Level::Write, Level::Scale];
/// Levels a `plugin` rule accepts.
const PLUGIN_LEVELS: &[Level] = &[Level::Deny, Level::Read, Level::List, Level::Write];

/// What a kind of rule block accepts.
struct Spec {
    /// The rule's name in messages, e.g. "namespace".
    what: &'static str,
    levels: &'static [Level],
    /// Accepted capabilities; empty when the block takes no `capabilities` attribute.
    capabilities: &'static [&'static str],
    /// Whether a `variables` block may appear inside.
    variables: bool,
    /// Whether `policy` must be written.
    needs_policy: bool,
}

const NAMESPACE: Spec = Spec {
    what: "namespace",
    levels: LEVELS,
    capabilities: caps::NAMESPACE_CAPABILITIES,
    variables: true,
    needs_policy: false,
};
const NODE_POOL: Spec = Spec {
    what: "node_pool",
    levels: LEVELS,
    capabilities: caps::NODE_POOL_CAPABILITIES,
    variables: false,
    needs_policy: false,
};
const HOST_VOLUME: Spec = Spec {
    what: "host_volume",
    levels: LEVELS,
    capabilities: caps::HOST_VOLUME_CAPABILITIES,
    variables: false,
    needs_policy: false,
};
const OPERATOR: Spec = Spec {
    what: "operator",
    levels: LEVELS,
    capabilities: caps::OPERATOR_CAPABILITIES,
    variables: false,
    needs_policy: false,
};
const VARIABLES_PATH: Spec = Spec {
    what: "variables path",
    levels: &[],
    capabilities: caps::VARIABLE_CAPABILITIES,
    variables: false,
    needs_policy: false,
};

/// A rule block whose only content is `policy` (agent, node, quota, plugin).
const fn level_only(what: &'static str, levels: &'static [Level]) -> Spec {
    Spec {
        what,
        levels,
        capabilities: &[],
        variables: false,
        needs_policy: true,
    }
}

/// The attributes of one rule block.
#[derive(Default)]
struct RuleBody<'b> {
    policy: Option<Level>,
    capabilities: Vec<String>,
    variables: Option<&'b Block>,
}

/// Parses a policy source.
pub(super) fn parse(text: &str) -> Result<Policy> {
    if text.is_empty() {
        return Ok(Policy::default());
    }
    let body = if json::is_json(text) {
        json::to_body(text)?
    } else {
        hcl_edit::parser::parse_body(text).map_err(|err| syntax_error(&err))?
    };
    let decoder = Decoder {
        src: Source::new(text),
    };
    let policy = decoder.policy(&body)?;
    if policy.is_empty() {
        return Err(decoder.src.error(
            0,
            format!("the policy has no rules; expected at least one of: {RULE_BLOCKS}"),
        ));
    }
    Ok(policy)
}

struct Decoder<'a> {
    src: Source<'a>,
}

impl Decoder<'_> {
    fn policy(&self, body: &Body) -> Result<Policy> {
        let mut policy = Policy::default();
        let mut seen = BTreeSet::new();
        for structure in body.iter() {
            let block = match structure {
                Structure::Block(block) => block,
                Structure::Attribute(attr) => {
                    return Err(self.src.error(
                        attr_offset(attr),
                        format!(
                            "unknown attribute {:?}: a policy holds only rule blocks ({RULE_BLOCKS})",
                            attr.key.as_str()
                        ),
                    ));
                }
            };
            let name = block.ident.as_str();
            if matches!(name, "agent" | "node" | "operator" | "quota" | "plugin") {
                if !seen.insert(name) {
                    return Err(self.at_block(block, format!("duplicate {name} block")));
                }
                self.no_labels(block)?;
            }
            self.rule(block, &mut policy)?;
        }
        Ok(policy)
    }

    /// Decodes one top-level rule block into `policy`.
    fn rule(&self, block: &Block, policy: &mut Policy) -> Result<()> {
        match block.ident.as_str() {
            "namespace" => policy.namespaces.push(self.namespace(block)?),
            "node_pool" => {
                let name = self.label(block, "node pool", valid_node_pool_name)?;
                let rule = self.rule_body(block, &NODE_POOL)?;
                policy.node_pools.push(NodePoolRule {
                    name,
                    policy: rule.policy,
                    capabilities: rule.capabilities,
                });
            }
            "host_volume" => {
                let name = self.label(block, "host volume", valid_name)?;
                let rule = self.rule_body(block, &HOST_VOLUME)?;
                policy.host_volumes.push(HostVolumeRule {
                    name,
                    policy: rule.policy,
                    capabilities: rule.capabilities,
                });
            }
            "agent" => policy.agent = self.level_rule(block, &level_only("agent", LEVELS))?,
            "node" => policy.node = self.level_rule(block, &level_only("node", LEVELS))?,
            "quota" => policy.quota = self.level_rule(block, &level_only("quota", LEVELS))?,
            "plugin" => {
                policy.plugin = self.level_rule(block, &level_only("plugin", PLUGIN_LEVELS))?;
            }
            "operator" => {
                let rule = self.rule_body(block, &OPERATOR)?;
                policy.operator = rule.policy;
                policy.operator_capabilities = rule.capabilities;
            }
            "sentinel" => {
                return Err(self.at_block(
                    block,
                    "the sentinel rule is Nomad Enterprise only and not supported by nomadish",
                ));
            }
            other => {
                return Err(self.at_block(
                    block,
                    format!("unknown block {other:?}; a policy holds only {RULE_BLOCKS} blocks"),
                ));
            }
        }
        Ok(())
    }

    fn namespace(&self, block: &Block) -> Result<NamespaceRule> {
        let name = self.label(block, "namespace", valid_name)?;
        let rule = self.rule_body(block, &NAMESPACE)?;
        let variables = match rule.variables {
            Some(vars) => self.variables(vars)?,
            None => Vec::new(),
        };
        Ok(NamespaceRule {
            name,
            policy: rule.policy,
            capabilities: rule.capabilities,
            variables,
        })
    }

    /// A rule block that holds only a `policy` (agent, node, quota, plugin).
    fn level_rule(&self, block: &Block, spec: &Spec) -> Result<Option<Level>> {
        Ok(self.rule_body(block, spec)?.policy)
    }

    /// The `path` rules of a namespace's `variables` block.
    fn variables(&self, block: &Block) -> Result<Vec<VariablesPathRule>> {
        self.no_labels(block)?;
        let mut paths = Vec::new();
        for structure in block.body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    return Err(self.at_attr(
                        attr,
                        format!(
                            "unknown attribute {:?} in variables block (it holds only path blocks)",
                            attr.key.as_str()
                        ),
                    ));
                }
                Structure::Block(inner) if inner.ident.as_str() == "path" => {
                    let path = self.label(inner, "variables path", |p| !p.is_empty())?;
                    if path.starts_with('/') {
                        return Err(self.at_block(
                            inner,
                            format!("invalid variables path {path:?}: it cannot start with \"/\""),
                        ));
                    }
                    let rule = self.rule_body(inner, &VARIABLES_PATH)?;
                    paths.push(VariablesPathRule {
                        path,
                        capabilities: rule.capabilities,
                    });
                }
                Structure::Block(inner) => {
                    return Err(self.at_block(
                        inner,
                        format!(
                            "unknown block {:?} in variables block (it holds only path blocks)",
                            inner.ident.as_str()
                        ),
                    ));
                }
            }
        }
        if paths.is_empty() {
            return Err(self.at_block(
                block,
                "variables block needs at least one path rule: path \"<glob>\" { capabilities = [...] }",
            ));
        }
        Ok(paths)
    }

    /// Reads the attributes (and a `variables` block where allowed) of a rule block.
    fn rule_body<'b>(&self, block: &'b Block, spec: &Spec) -> Result<RuleBody<'b>> {
        let mut rule = RuleBody::default();
        for structure in block.body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    // hcl-edit already rejects an attribute defined twice.
                    let key = attr.key.as_str();
                    match key {
                        "policy" if !spec.levels.is_empty() => {
                            rule.policy = Some(self.level(attr, spec)?);
                        }
                        "capabilities" if !spec.capabilities.is_empty() => {
                            rule.capabilities = self.capabilities(attr, spec)?;
                        }
                        _ => {
                            return Err(self.at_attr(
                                attr,
                                format!(
                                    "unknown attribute {key:?} in {} rule (expected {})",
                                    spec.what,
                                    expected_attributes(spec)
                                ),
                            ));
                        }
                    }
                }
                Structure::Block(inner)
                    if spec.variables && inner.ident.as_str() == "variables" =>
                {
                    if rule.variables.is_some() {
                        return Err(self.at_block(inner, "duplicate variables block"));
                    }
                    rule.variables = Some(inner);
                }
                Structure::Block(inner) => {
                    return Err(self.at_block(
                        inner,
                        format!(
                            "unknown block {:?} in {} rule",
                            inner.ident.as_str(),
                            spec.what
                        ),
                    ));
                }
            }
        }
        if spec.needs_policy && rule.policy.is_none() {
            return Err(self.at_block(
                block,
                format!(
                    "{} rule needs a policy, like {} {{ policy = \"read\" }}",
                    spec.what, spec.what
                ),
            ));
        }
        Ok(rule)
    }

    fn level(&self, attr: &Attribute, spec: &Spec) -> Result<Level> {
        let name = self.string(attr, &attr.value)?;
        let expected = || {
            let names: Vec<String> = spec
                .levels
                .iter()
                .map(|l| format!("{:?}", l.as_str()))
                .collect();
            names.join(", ")
        };
        match Level::from_name(&name) {
            Some(level) if spec.levels.contains(&level) => Ok(level),
            Some(level) => Err(self.at_attr(
                attr,
                format!(
                    "policy {:?} is not valid in a {} rule (expected one of {})",
                    level.as_str(),
                    spec.what,
                    expected()
                ),
            )),
            None => Err(self.at_attr(
                attr,
                format!(
                    "unknown policy level {name:?} in {} rule (expected one of {})",
                    spec.what,
                    expected()
                ),
            )),
        }
    }

    fn capabilities(&self, attr: &Attribute, spec: &Spec) -> Result<Vec<String>> {
        let Expression::Array(items) = &attr.value else {
            return Err(self.at_attr(
                attr,
                "capabilities must be a list of strings, like capabilities = [\"read-job\"]",
            ));
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let cap = self.string(attr, item)?;
            if !spec.capabilities.contains(&cap.as_str()) {
                return Err(self.at_attr(attr, unknown_capability(&cap, spec)));
            }
            out.push(cap);
        }
        Ok(out)
    }

    /// A plain string literal (no interpolation).
    fn string(&self, attr: &Attribute, value: &Expression) -> Result<String> {
        match value {
            Expression::String(s) => Ok(s.value().clone()),
            _ => Err(self.at_attr(
                attr,
                format!(
                    "{} must be a plain string (or a list of them), without interpolation",
                    attr.key.as_str()
                ),
            )),
        }
    }

    /// The block's single label, checked by `valid`.
    fn label(&self, block: &Block, what: &str, valid: fn(&str) -> bool) -> Result<String> {
        let ident = block.ident.as_str();
        match block.labels.as_slice() {
            [label] if valid(label.as_str()) => Ok(label.as_str().to_string()),
            [label] => Err(self.at_block(block, invalid_name(what, label.as_str()))),
            [] => Err(self.at_block(
                block,
                format!("{ident} block needs a label, the {what} name or glob: {ident} \"<name>\" {{ ... }}"),
            )),
            _ => Err(self.at_block(
                block,
                format!("{ident} block takes exactly one label, the {what} name or glob"),
            )),
        }
    }

    fn no_labels(&self, block: &Block) -> Result<()> {
        if block.labels.is_empty() {
            Ok(())
        } else {
            let ident = block.ident.as_str();
            Err(self.at_block(
                block,
                format!("{ident} block takes no label: {ident} {{ ... }}"),
            ))
        }
    }

    fn at_block(&self, block: &Block, message: impl Into<String>) -> PolicyError {
        self.src.error(block_offset(block), message)
    }

    fn at_attr(&self, attr: &Attribute, message: impl Into<String>) -> PolicyError {
        self.src.error(attr_offset(attr), message)
    }
}

/// The attributes a rule block accepts, for messages.
fn expected_attributes(spec: &Spec) -> &'static str {
    match (
        spec.levels.is_empty(),
        spec.capabilities.is_empty(),
        spec.variables,
    ) {
        (false, false, true) => "policy, capabilities or a variables block",
        (false, false, false) => "policy or capabilities",
        (false, true, _) => "policy",
        (true, _, _) => "capabilities",
    }
}

fn unknown_capability(cap: &str, spec: &Spec) -> String {
    let mut message = format!("unknown capability {cap:?} in {} rule", spec.what);
    if spec.capabilities.len() <= 8 {
        let names: Vec<String> = spec.capabilities.iter().map(|c| format!("{c:?}")).collect();
        message.push_str(&format!(" (expected one of {})", names.join(", ")));
    }
    message
}

fn invalid_name(what: &str, name: &str) -> String {
    if what == "variables path" {
        return "a variables path must not be empty".to_string();
    }
    let allowed = if what == "node pool" {
        "letters, digits, \"-\", \"_\" and \"*\""
    } else {
        "letters, digits, \"-\" and \"*\""
    };
    format!("invalid {what} name {name:?}: use 1 to 128 of {allowed}")
}

/// Nomad's rule for namespace and host volume names (globs included): `[a-zA-Z0-9-*]{1,128}`.
fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*')
}

/// Nomad's rule for node pool names (globs included): `[a-zA-Z0-9-_*]{1,128}`.
fn valid_node_pool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*')
}
