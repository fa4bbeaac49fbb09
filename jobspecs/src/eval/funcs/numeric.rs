//! Numeric functions: abs, ceil, floor, log, max, min, pow, signum, parseint.

use serde_json::Value;

use super::{Args, Func, num_value};

pub(super) const FUNCS: &[(&str, Func)] = &[
    ("abs", |a| unary(a, f64::abs)),
    ("ceil", |a| unary(a, f64::ceil)),
    ("floor", |a| unary(a, f64::floor)),
    ("signum", |a| {
        unary(a, |x| if x == 0.0 { 0.0 } else { x.signum() })
    }),
    ("log", |a| {
        a.exactly(2)?;
        num_value(a.num(0)?.log(a.num(1)?))
    }),
    ("pow", |a| {
        a.exactly(2)?;
        num_value(a.num(0)?.powf(a.num(1)?))
    }),
    ("max", |a| extreme(a, f64::max)),
    ("min", |a| extreme(a, f64::min)),
    ("parseint", parseint),
];

fn unary(args: Args<'_>, f: fn(f64) -> f64) -> Result<Value, String> {
    args.exactly(1)?;
    num_value(f(args.num(0)?))
}

fn extreme(args: Args<'_>, pick: fn(f64, f64) -> f64) -> Result<Value, String> {
    args.at_least(1)?;
    let mut best = args.num(0)?;
    for i in 1..args.values.len() {
        best = pick(best, args.num(i)?);
    }
    num_value(best)
}

fn parseint(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (s, base) = (args.str(0)?, args.int(1)?);
    let radix = u32::try_from(base)
        .ok()
        .filter(|b| (2..=62).contains(b))
        .ok_or_else(|| format!("base {base} is not between 2 and 62"))?;
    if radix > 36 {
        return Err("bases above 36 are not supported".to_string());
    }
    i64::from_str_radix(&s, radix)
        .map(Value::from)
        .map_err(|_| format!("cannot parse {s:?} as a base {base} integer"))
}
