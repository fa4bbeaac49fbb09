//! Rendering one template text with gtmpl (Go's template language).
//!
//! gtmpl's functions are plain `fn` pointers, so the data they read travels in a thread-local
//! [`Ctx`] set for the duration of one (synchronous) render. Rendering doubles as dependency
//! discovery: a data function whose answer is not fetched yet records the dependency and
//! returns an empty value; the caller fetches what was recorded and renders again.
//!
//! ```text
//!   render(text, data) ──> Done(text, deps used) | Need(deps to fetch) | Missing(var paths)
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use gtmpl::{Context, FuncError, Template, Value};
use nomadish_proto::model::{ServiceRegistration, Variable, VariableMetadata};

use super::funcs::{HELPERS, from_serde};

/// Data a template may read from the servers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dep {
    /// `nomadVar` / `nomadVarExists`: one variable by path.
    Var(String),
    /// `nomadVarList`: variables under a prefix.
    VarList(String),
    /// `nomadService`: a service's registrations.
    Service(String),
}

impl Dep {
    /// The RPC's kind and key.
    pub fn kind_key(&self) -> (&'static str, &str) {
        match self {
            Dep::Var(p) => ("var", p),
            Dep::VarList(p) => ("var_list", p),
            Dep::Service(n) => ("service", n),
        }
    }
}

/// A fetched answer: the table index it reflects and its JSON (`None`: no such variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub index: u64,
    pub json: Option<Vec<u8>>,
}

/// How one render ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// The text, and every dependency it read.
    Done(String, BTreeSet<Dep>),
    /// Dependencies to fetch before the text can be rendered.
    Need(BTreeSet<Dep>),
    /// `nomadVar` paths that do not exist (Nomad waits for them).
    Missing(BTreeSet<String>),
}

/// Settings of one render.
pub struct RenderInput<'a> {
    pub text: &'a str,
    pub left_delim: &'a str,
    pub right_delim: &'a str,
    pub err_missing_key: bool,
    pub env: &'a BTreeMap<String, String>,
    pub data: &'a HashMap<Dep, Fetched>,
}

#[derive(Default)]
struct Ctx {
    env: BTreeMap<String, String>,
    data: HashMap<Dep, Fetched>,
    used: BTreeSet<Dep>,
    need: BTreeSet<Dep>,
    missing: BTreeSet<String>,
}

thread_local! {
    static CTX: RefCell<Ctx> = RefCell::new(Ctx::default());
}

/// Renders `input.text`; `Err` is a template error for the task's event.
pub fn render(input: &RenderInput<'_>) -> Result<Rendered, String> {
    let text = translate_delims(input.text, input.left_delim, input.right_delim)?;
    let mut tmpl = Template::default();
    tmpl.add_funcs(&HELPERS);
    tmpl.add_funcs(&[
        ("env", env as gtmpl::Func),
        ("nomadVar", nomad_var),
        ("nomadVarExists", nomad_var_exists),
        ("nomadVarList", nomad_var_list),
        ("nomadService", nomad_service),
    ]);
    tmpl.parse(text).map_err(|e| format!("parse error: {e}"))?;
    CTX.with(|c| {
        *c.borrow_mut() = Ctx {
            env: input.env.clone(),
            data: input.data.clone(),
            ..Ctx::default()
        }
    });
    let result = tmpl.render(&Context::empty());
    let ctx = CTX.with(|c| std::mem::take(&mut *c.borrow_mut()));
    if !ctx.need.is_empty() {
        return Ok(Rendered::Need(ctx.need));
    }
    if !ctx.missing.is_empty() {
        return Ok(Rendered::Missing(ctx.missing));
    }
    let out = result.map_err(|e| format!("execute error: {e}"))?;
    if input.err_missing_key && out.contains("<no value>") {
        return Err("execute error: map has no entry for a key (error_on_missing_key)".into());
    }
    Ok(Rendered::Done(out, ctx.used))
}

/// Rewrites custom delimiters to gtmpl's `{{ }}`; literal `{{` in the text is kept literal.
pub fn translate_delims(text: &str, left: &str, right: &str) -> Result<String, String> {
    if left == "{{" && right == "}}" {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(left) {
        out.push_str(&rest[..start].replace("{{", "{{\"{{\"}}"));
        let after = &rest[start + left.len()..];
        let end = after
            .find(right)
            .ok_or_else(|| format!("parse error: unclosed action (missing {right:?})"))?;
        out.push_str("{{");
        out.push_str(&after[..end]);
        out.push_str("}}");
        rest = &after[end + right.len()..];
    }
    out.push_str(&rest.replace("{{", "{{\"{{\"}}"));
    Ok(out)
}

fn one_string(name: &str, args: &[Value]) -> Result<String, FuncError> {
    match args {
        [Value::String(s)] => Ok(s.clone()),
        _ => Err(FuncError::Generic(format!(
            "{name}: expected one string argument"
        ))),
    }
}

/// Looks a dependency up, recording its use; `None` when it still has to be fetched.
fn lookup(dep: Dep) -> Option<Fetched> {
    CTX.with(|c| {
        let mut c = c.borrow_mut();
        c.used.insert(dep.clone());
        let found = c.data.get(&dep).cloned();
        if found.is_none() {
            c.need.insert(dep);
        }
        found
    })
}

fn decode<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, FuncError> {
    serde_json::from_slice(json).map_err(|e| FuncError::Generic(format!("bad data: {e}")))
}

fn env(args: &[Value]) -> Result<Value, FuncError> {
    let name = one_string("env", args)?;
    let v = CTX.with(|c| c.borrow().env.get(&name).cloned().unwrap_or_default());
    Ok(Value::String(v))
}

fn nomad_var(args: &[Value]) -> Result<Value, FuncError> {
    let path = one_string("nomadVar", args)?;
    let Some(fetched) = lookup(Dep::Var(path.clone())) else {
        return Ok(Value::Map(HashMap::new()));
    };
    match fetched.json {
        Some(json) => {
            let var: Variable = decode(&json)?;
            let items = var.items.into_iter().map(|(k, v)| (k, Value::String(v)));
            Ok(Value::Map(items.collect()))
        }
        None => {
            CTX.with(|c| c.borrow_mut().missing.insert(path));
            Ok(Value::Map(HashMap::new()))
        }
    }
}

fn nomad_var_exists(args: &[Value]) -> Result<Value, FuncError> {
    let path = one_string("nomadVarExists", args)?;
    Ok(Value::Bool(
        lookup(Dep::Var(path)).is_some_and(|f| f.json.is_some()),
    ))
}

fn nomad_var_list(args: &[Value]) -> Result<Value, FuncError> {
    let prefix = match args {
        [] => String::new(),
        _ => one_string("nomadVarList", args)?,
    };
    let Some(Fetched {
        json: Some(json), ..
    }) = lookup(Dep::VarList(prefix))
    else {
        return Ok(Value::Array(Vec::new()));
    };
    let list: Vec<VariableMetadata> = decode(&json)?;
    let values = list
        .iter()
        .map(|m| serde_json::to_value(m).map_or(Value::Nil, |j| from_serde(&j)));
    Ok(Value::Array(values.collect()))
}

fn nomad_service(args: &[Value]) -> Result<Value, FuncError> {
    let name = one_string("nomadService", args)?;
    let Some(Fetched {
        json: Some(json), ..
    }) = lookup(Dep::Service(name))
    else {
        return Ok(Value::Array(Vec::new()));
    };
    let regs: Vec<ServiceRegistration> = decode(&json)?;
    let values = regs.iter().map(|r| {
        let obj = serde_json::json!({
            "ID": r.id, "Name": r.service_name, "Namespace": r.namespace,
            "NodeID": r.node_id, "Datacenter": r.datacenter, "JobID": r.job_id,
            "AllocID": r.alloc_id, "Tags": r.tags, "Address": r.address, "Port": r.port,
        });
        from_serde(&obj)
    });
    Ok(Value::Array(values.collect()))
}
