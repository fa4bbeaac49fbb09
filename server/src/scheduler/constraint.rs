//! Constraints: resolving `${...}` targets against a node and checking Nomad's operators.
//!
//! Constraints are prepared once per scheduling call ([`Prepared::new`]): targets are parsed,
//! and regular expressions and version constraints with literal right-hand sides are compiled
//! once, not once per node.

use regex::Regex;

use nomadish_proto::model::{Constraint, DEFAULT_NODE_POOL, Node};

use super::version::{Mode, VersionReq};

/// Nomad's operator names.
pub mod operand {
    /// `distinct_hosts`: no two allocations of the job on one node.
    pub const DISTINCT_HOSTS: &str = "distinct_hosts";
    /// `distinct_property`: not enforced by this scheduler (always satisfied).
    pub const DISTINCT_PROPERTY: &str = "distinct_property";
    /// `regexp`: the left side matches the regular expression on the right.
    pub const REGEXP: &str = "regexp";
    /// `version`: go-version style constraint.
    pub const VERSION: &str = "version";
    /// `semver`: strict semantic-version constraint.
    pub const SEMVER: &str = "semver";
    /// `set_contains`: every comma-separated right item is in the left set.
    pub const SET_CONTAINS: &str = "set_contains";
    /// `set_contains_all`: same as `set_contains`.
    pub const SET_CONTAINS_ALL: &str = "set_contains_all";
    /// `set_contains_any`: at least one right item is in the left set.
    pub const SET_CONTAINS_ANY: &str = "set_contains_any";
    /// `is_set`: the left side resolves.
    pub const IS_SET: &str = "is_set";
    /// `is_not_set`: the left side does not resolve.
    pub const IS_NOT_SET: &str = "is_not_set";
}

/// The left or right side of a constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Literal(String),
    NodeId,
    NodeName,
    Datacenter,
    Class,
    Pool,
    Attr(String),
    Meta(String),
    /// An interpolation this scheduler does not know; never resolves.
    Unknown,
}

impl Target {
    pub(crate) fn parse(text: &str) -> Self {
        if !text.starts_with("${") {
            return Self::Literal(text.to_string());
        }
        let Some(inner) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) else {
            return Self::Unknown;
        };
        match inner {
            "node.unique.id" => Self::NodeId,
            "node.unique.name" => Self::NodeName,
            "node.datacenter" => Self::Datacenter,
            "node.class" => Self::Class,
            "node.pool" => Self::Pool,
            _ => {
                if let Some(key) = inner.strip_prefix("attr.") {
                    Self::Attr(key.to_string())
                } else if let Some(key) = inner.strip_prefix("meta.") {
                    Self::Meta(key.to_string())
                } else {
                    Self::Unknown
                }
            }
        }
    }

    /// The target's value on this node, `None` when it does not resolve.
    pub(crate) fn resolve<'a>(&'a self, node: &'a Node) -> Option<&'a str> {
        match self {
            Self::Literal(s) => Some(s),
            Self::NodeId => Some(&node.id),
            Self::NodeName => Some(&node.name),
            Self::Datacenter => Some(&node.datacenter),
            Self::Class => Some(&node.node_class),
            Self::Pool => Some(node_pool(node)),
            Self::Attr(key) => node.attributes.get(key).map(String::as_str),
            Self::Meta(key) => node.meta.get(key).map(String::as_str),
            Self::Unknown => None,
        }
    }
}

/// The node's pool, `default` when unset.
pub(crate) fn node_pool(node: &Node) -> &str {
    if node.node_pool.is_empty() {
        DEFAULT_NODE_POOL
    } else {
        &node.node_pool
    }
}

#[derive(Debug, Clone)]
enum Check {
    Equal,
    NotEqual,
    Order(std::cmp::Ordering, bool),
    Regex(Option<Option<Regex>>),
    Version(Mode, Option<Option<VersionReq>>),
    SetAll,
    SetAny,
    IsSet,
    IsNotSet,
    /// Handled elsewhere (`distinct_hosts`) or not enforced (`distinct_property`).
    AlwaysTrue,
    /// An operator Nomad does not know: never satisfied.
    Never,
}

/// A constraint ready to be checked against many nodes.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// Nomad's metric key, `"<LTarget> <Operand> <RTarget>"`.
    pub key: String,
    left: Target,
    right: Target,
    check: Check,
}

impl Prepared {
    pub(crate) fn new(c: &Constraint) -> Self {
        let right = Target::parse(&c.r_target);
        let literal = match &right {
            Target::Literal(s) => Some(s.as_str()),
            _ => None,
        };
        use std::cmp::Ordering::{Greater, Less};
        let check = match c.operand.as_str() {
            "=" | "==" | "is" => Check::Equal,
            "!=" | "not" => Check::NotEqual,
            "<" => Check::Order(Less, false),
            "<=" => Check::Order(Less, true),
            ">" => Check::Order(Greater, false),
            ">=" => Check::Order(Greater, true),
            operand::REGEXP => Check::Regex(literal.map(|r| Regex::new(r).ok())),
            operand::VERSION => Check::Version(
                Mode::Lenient,
                literal.map(|r| VersionReq::parse(r, Mode::Lenient)),
            ),
            operand::SEMVER => Check::Version(
                Mode::Strict,
                literal.map(|r| VersionReq::parse(r, Mode::Strict)),
            ),
            operand::SET_CONTAINS | operand::SET_CONTAINS_ALL => Check::SetAll,
            operand::SET_CONTAINS_ANY => Check::SetAny,
            operand::IS_SET => Check::IsSet,
            operand::IS_NOT_SET => Check::IsNotSet,
            operand::DISTINCT_HOSTS | operand::DISTINCT_PROPERTY => Check::AlwaysTrue,
            _ => Check::Never,
        };
        Self {
            key: format!("{} {} {}", c.l_target, c.operand, c.r_target),
            left: Target::parse(&c.l_target),
            right,
            check,
        }
    }

    /// Whether the node satisfies the constraint.
    pub(crate) fn holds(&self, node: &Node) -> bool {
        let l = self.left.resolve(node);
        let r = self.right.resolve(node);
        match &self.check {
            Check::Equal => matches!((l, r), (Some(a), Some(b)) if a == b),
            Check::NotEqual => l != r,
            Check::Order(want, or_equal) => match (l, r) {
                (Some(a), Some(b)) => {
                    let ord = compare_order(a, b);
                    ord == *want || (*or_equal && ord.is_eq())
                }
                _ => false,
            },
            Check::Regex(compiled) => match (l, r, compiled) {
                (Some(a), Some(_), Some(re)) => re.as_ref().is_some_and(|re| re.is_match(a)),
                (Some(a), Some(b), None) => Regex::new(b).is_ok_and(|re| re.is_match(a)),
                _ => false,
            },
            Check::Version(mode, compiled) => match (l, r, compiled) {
                (Some(a), Some(_), Some(req)) => req.as_ref().is_some_and(|req| req.matches(a)),
                (Some(a), Some(b), None) => {
                    VersionReq::parse(b, *mode).is_some_and(|req| req.matches(a))
                }
                _ => false,
            },
            Check::SetAll => match (l, r) {
                (Some(a), Some(b)) => set_items(b).all(|item| set_items(a).any(|x| x == item)),
                _ => false,
            },
            Check::SetAny => match (l, r) {
                (Some(a), Some(b)) => set_items(b).any(|item| set_items(a).any(|x| x == item)),
                _ => false,
            },
            Check::IsSet => l.is_some(),
            Check::IsNotSet => l.is_none(),
            Check::AlwaysTrue => true,
            Check::Never => false,
        }
    }
}

/// Whether a constraint asks for `distinct_hosts` (an empty value means true, as in Nomad).
pub(crate) fn is_distinct_hosts(c: &Constraint) -> bool {
    c.operand == operand::DISTINCT_HOSTS
        && (c.r_target.is_empty() || c.r_target.trim().eq_ignore_ascii_case("true"))
}

fn set_items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim)
}

/// Numeric order when both sides parse as numbers (integers, then floats), else lexical.
fn compare_order(a: &str, b: &str) -> std::cmp::Ordering {
    if let (Ok(x), Ok(y)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
        return x.cmp(&y);
    }
    if let (Ok(x), Ok(y)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>())
        && let Some(ord) = x.partial_cmp(&y)
    {
        return ord;
    }
    a.cmp(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Node {
        let mut n = Node {
            id: "node-1".into(),
            name: "alpha".into(),
            datacenter: "dc1".into(),
            node_class: "gpu".into(),
            ..Default::default()
        };
        for (k, v) in [
            ("kernel.name", "linux"),
            ("cpu.numcores", "8"),
            ("os.version", "22.04"),
            ("nomad.version", "1.7.3"),
            ("tags", "a, b,c"),
        ] {
            n.attributes.insert(k.into(), v.into());
        }
        n.meta.insert("rack".into(), "r1".into());
        n
    }

    fn holds(l: &str, op: &str, r: &str) -> bool {
        let c = Constraint {
            l_target: l.into(),
            operand: op.into(),
            r_target: r.into(),
        };
        Prepared::new(&c).holds(&node())
    }

    #[test]
    fn targets_resolve() {
        let n = node();
        assert_eq!(
            Target::parse("${node.unique.id}").resolve(&n),
            Some("node-1")
        );
        assert_eq!(
            Target::parse("${node.unique.name}").resolve(&n),
            Some("alpha")
        );
        assert_eq!(Target::parse("${node.datacenter}").resolve(&n), Some("dc1"));
        assert_eq!(Target::parse("${node.class}").resolve(&n), Some("gpu"));
        assert_eq!(Target::parse("${node.pool}").resolve(&n), Some("default"));
        assert_eq!(Target::parse("${meta.rack}").resolve(&n), Some("r1"));
        assert_eq!(Target::parse("${attr.missing}").resolve(&n), None);
        assert_eq!(Target::parse("${bogus.x}").resolve(&n), None);
        assert_eq!(Target::parse("plain").resolve(&n), Some("plain"));
    }

    #[test]
    fn equality_operators() {
        assert!(holds("${attr.kernel.name}", "=", "linux"));
        assert!(holds("${attr.kernel.name}", "==", "linux"));
        assert!(holds("${attr.kernel.name}", "is", "linux"));
        assert!(!holds("${attr.kernel.name}", "=", "windows"));
        assert!(!holds("${attr.missing}", "=", "x"));
        assert!(holds("${attr.kernel.name}", "!=", "windows"));
        assert!(holds("${attr.missing}", "not", "x"));
        assert!(!holds("${attr.kernel.name}", "not", "linux"));
    }

    #[test]
    fn ordering_is_numeric_when_both_sides_are_numbers() {
        assert!(holds("${attr.cpu.numcores}", ">", "4"));
        assert!(holds("${attr.cpu.numcores}", ">=", "8"));
        assert!(!holds("${attr.cpu.numcores}", ">", "10"));
        assert!(holds("${attr.cpu.numcores}", "<", "10"));
        assert!(holds("${attr.os.version}", "<=", "22.04"));
        assert!(holds("${attr.kernel.name}", "<", "windows"));
        assert!(!holds("${attr.missing}", "<", "1"));
    }

    #[test]
    fn regexp_version_and_sets() {
        assert!(holds("${attr.kernel.name}", "regexp", "^lin"));
        assert!(!holds("${attr.kernel.name}", "regexp", "^win"));
        assert!(!holds("${attr.kernel.name}", "regexp", "(unclosed"));
        assert!(holds("${attr.nomad.version}", "version", ">= 1.2, < 2.0"));
        assert!(!holds("${attr.nomad.version}", "version", ">= 2.0"));
        assert!(holds("${attr.nomad.version}", "semver", ">= 1.7.0"));
        assert!(holds("${attr.tags}", "set_contains", "a,c"));
        assert!(holds("${attr.tags}", "set_contains_all", "b"));
        assert!(!holds("${attr.tags}", "set_contains_all", "a,z"));
        assert!(holds("${attr.tags}", "set_contains_any", "z, c"));
        assert!(!holds("${attr.tags}", "set_contains_any", "y,z"));
    }

    #[test]
    fn set_checks_and_unknown_operators() {
        assert!(holds("${meta.rack}", "is_set", ""));
        assert!(!holds("${meta.zone}", "is_set", ""));
        assert!(holds("${meta.zone}", "is_not_set", ""));
        assert!(holds("", "distinct_hosts", "true"));
        assert!(!holds("${meta.rack}", "frobnicate", "r1"));
    }

    #[test]
    fn metric_key_is_nomads_constraint_string() {
        let c = Constraint {
            l_target: "${attr.kernel.name}".into(),
            operand: "=".into(),
            r_target: "windows".into(),
        };
        assert_eq!(Prepared::new(&c).key, "${attr.kernel.name} = windows");
    }
}
