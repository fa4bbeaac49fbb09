//! Type conversion functions: tostring, tonumber, tobool, tolist, toset, tomap.

use serde_json::Value;

use super::{Args, Func};
use crate::eval::types::{Type, convert};

pub(super) const FUNCS: &[(&str, Func)] = &[
    ("tostring", |a| to(a, &Type::String)),
    ("tonumber", |a| to(a, &Type::Number)),
    ("tobool", |a| to(a, &Type::Bool)),
    ("tolist", |a| to(a, &Type::List(Box::new(Type::Any)))),
    ("toset", |a| to(a, &Type::Set(Box::new(Type::Any)))),
    ("tomap", |a| to(a, &Type::Map(Box::new(Type::Any)))),
];

fn to(args: Args<'_>, ty: &Type) -> Result<Value, String> {
    args.exactly(1)?;
    match args.get(0)? {
        // Null converts to null of any type, as in HCL.
        Value::Null => Ok(Value::Null),
        v => convert(v, ty),
    }
}
