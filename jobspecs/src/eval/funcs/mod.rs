//! Nomad's HCL2 function library, over JSON values.
//!
//! Each family lives in its own file and exposes a table of `(name, function)`; argument
//! checking goes through [`Args`] so every function reports `expected a string, got ...`
//! the same way. `try` and `can` are evaluated lazily by the expression evaluator.

mod collections;
mod encoding;
mod files;
mod hashes;
mod numeric;
mod strings;
mod time;
mod types;

#[cfg(test)]
mod collections_tests;
#[cfg(test)]
mod encoding_tests;
#[cfg(test)]
mod misc_tests;
#[cfg(test)]
mod strings_tests;

use std::path::Path;

use serde_json::{Map, Number, Value};

use crate::value::describe;

/// A function's arguments and what it may read (the jobspec's directory).
pub(crate) struct Args<'a> {
    values: Vec<Value>,
    base_dir: &'a Path,
}

type Func = fn(Args<'_>) -> Result<Value, String>;

/// Every function, by family.
fn tables() -> [&'static [(&'static str, Func)]; 8] {
    [
        strings::FUNCS,
        collections::FUNCS,
        numeric::FUNCS,
        types::FUNCS,
        encoding::FUNCS,
        files::FUNCS,
        hashes::FUNCS,
        time::FUNCS,
    ]
}

fn lookup(name: &str) -> Option<Func> {
    tables()
        .into_iter()
        .flatten()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Whether `name` is a known function (`try` and `can` included).
pub(crate) fn exists(name: &str) -> bool {
    name == "try" || name == "can" || lookup(name).is_some()
}

/// The names of every function, sorted (for tests).
#[cfg(test)]
pub(crate) fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = tables().into_iter().flatten().map(|(n, _)| *n).collect();
    names.extend(["try", "can"]);
    names.sort_unstable();
    names
}

/// Calls a function with evaluated arguments.
pub(crate) fn call(name: &str, values: Vec<Value>, base_dir: &Path) -> Result<Value, String> {
    let f = lookup(name).ok_or_else(|| format!("unknown function {name}()"))?;
    f(Args { values, base_dir })
}

impl Args<'_> {
    /// Exactly `n` arguments.
    fn exactly(&self, n: usize) -> Result<(), String> {
        if self.values.len() == n {
            Ok(())
        } else {
            Err(format!(
                "takes {n} argument{}, got {}",
                if n == 1 { "" } else { "s" },
                self.values.len()
            ))
        }
    }

    /// At least `n` arguments.
    fn at_least(&self, n: usize) -> Result<(), String> {
        if self.values.len() >= n {
            Ok(())
        } else {
            Err(format!(
                "takes at least {n} argument{}, got {}",
                if n == 1 { "" } else { "s" },
                self.values.len()
            ))
        }
    }

    fn get(&self, i: usize) -> Result<&Value, String> {
        self.values
            .get(i)
            .ok_or_else(|| format!("argument {} is missing", i + 1))
    }

    fn str(&self, i: usize) -> Result<String, String> {
        as_str(self.get(i)?).map_err(|e| format!("argument {}: {e}", i + 1))
    }

    fn num(&self, i: usize) -> Result<f64, String> {
        as_num(self.get(i)?).map_err(|e| format!("argument {}: {e}", i + 1))
    }

    fn int(&self, i: usize) -> Result<i64, String> {
        crate::convert::int(self.get(i)?).map_err(|e| format!("argument {}: {e}", i + 1))
    }

    fn list(&self, i: usize) -> Result<Vec<Value>, String> {
        match self.get(i)? {
            Value::Array(items) => Ok(items.clone()),
            other => Err(format!(
                "argument {}: expected a list, got {}",
                i + 1,
                describe(other)
            )),
        }
    }

    fn map(&self, i: usize) -> Result<Map<String, Value>, String> {
        match self.get(i)? {
            Value::Object(map) => Ok(map.clone()),
            other => Err(format!(
                "argument {}: expected a map, got {}",
                i + 1,
                describe(other)
            )),
        }
    }

    fn strings(&self, i: usize) -> Result<Vec<String>, String> {
        self.list(i)?
            .iter()
            .map(as_str)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("argument {}: {e}", i + 1))
    }
}

/// A primitive as a string (numbers and bools convert, as in HCL).
pub(crate) fn as_str(value: &Value) -> Result<String, String> {
    crate::convert::string(value)
}

/// A number (strings holding numbers convert).
pub(crate) fn as_num(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{n} is not a number")),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("expected a number, got {}", describe(value))),
        other => Err(format!("expected a number, got {}", describe(other))),
    }
}

/// A number value: whole numbers stay integers.
pub(crate) fn num_value(x: f64) -> Result<Value, String> {
    if x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 {
        #[allow(clippy::cast_possible_truncation)]
        return Ok(Value::from(x as i64));
    }
    Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| format!("{x} is not a finite number"))
}

/// Removes repeated elements (sets), keeping the first of each.
pub(crate) fn dedup_values(items: Vec<Value>) -> Vec<Value> {
    collections::dedup(items)
}
