//! Collection functions over lists, sets (lists without duplicates) and maps.

use serde_json::{Map, Value};

use super::{Args, Func, num_value};
use crate::value::describe;

pub(super) const FUNCS: &[(&str, Func)] = &[
    ("concat", concat),
    ("flatten", |a| {
        a.exactly(1)?;
        let mut out = Vec::new();
        flatten_into(a.list(0)?, &mut out);
        Ok(Value::Array(out))
    }),
    ("keys", keys),
    ("values", values),
    ("lookup", lookup),
    ("merge", merge),
    ("length", length),
    ("contains", |a| {
        a.exactly(2)?;
        Ok(Value::Bool(a.list(0)?.contains(a.get(1)?)))
    }),
    ("range", range),
    ("zipmap", zipmap),
    ("distinct", |a| {
        a.exactly(1)?;
        Ok(Value::Array(dedup(a.list(0)?)))
    }),
    ("element", element),
    ("index", index),
    ("reverse", |a| {
        a.exactly(1)?;
        Ok(Value::Array(a.list(0)?.into_iter().rev().collect()))
    }),
    ("slice", slice),
    ("sort", sort),
    ("coalesce", coalesce),
    ("coalescelist", |a| {
        a.at_least(1)?;
        for i in 0..a.values.len() {
            let list = a.list(i)?;
            if !list.is_empty() {
                return Ok(Value::Array(list));
            }
        }
        Err("no non-empty list among the arguments".to_string())
    }),
    ("compact", |a| {
        a.exactly(1)?;
        let items = a.list(0)?;
        Ok(Value::Array(
            items
                .into_iter()
                .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
                .collect(),
        ))
    }),
    ("chunklist", chunklist),
    ("setunion", |a| {
        a.at_least(1)?;
        let mut all = Vec::new();
        for i in 0..a.values.len() {
            all.extend(a.list(i)?);
        }
        Ok(Value::Array(dedup(all)))
    }),
    ("setintersection", |a| {
        a.at_least(1)?;
        let mut result = dedup(a.list(0)?);
        for i in 1..a.values.len() {
            let other = a.list(i)?;
            result.retain(|v| other.contains(v));
        }
        Ok(Value::Array(result))
    }),
    ("setsubtract", |a| {
        a.exactly(2)?;
        let other = a.list(1)?;
        let mut result = dedup(a.list(0)?);
        result.retain(|v| !other.contains(v));
        Ok(Value::Array(result))
    }),
    ("setproduct", setproduct),
];

/// Removes repeated elements, keeping the first of each.
pub(crate) fn dedup(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn concat(args: Args<'_>) -> Result<Value, String> {
    args.at_least(1)?;
    let mut out = Vec::new();
    for i in 0..args.values.len() {
        out.extend(args.list(i)?);
    }
    Ok(Value::Array(out))
}

fn flatten_into(items: Vec<Value>, out: &mut Vec<Value>) {
    for item in items {
        match item {
            Value::Array(inner) => flatten_into(inner, out),
            other => out.push(other),
        }
    }
}

fn keys(args: Args<'_>) -> Result<Value, String> {
    args.exactly(1)?;
    let mut keys: Vec<String> = args.map(0)?.keys().cloned().collect();
    keys.sort();
    Ok(Value::Array(keys.into_iter().map(Value::String).collect()))
}

fn values(args: Args<'_>) -> Result<Value, String> {
    args.exactly(1)?;
    let map = args.map(0)?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    Ok(Value::Array(
        keys.into_iter().map(|k| map[k].clone()).collect(),
    ))
}

fn lookup(args: Args<'_>) -> Result<Value, String> {
    args.at_least(2)?;
    if args.values.len() > 3 {
        return Err("takes 2 or 3 arguments".to_string());
    }
    let (map, key) = (args.map(0)?, args.str(1)?);
    match (map.get(&key), args.values.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!(
            "the map has no key {key:?} and no default was given"
        )),
    }
}

fn merge(args: Args<'_>) -> Result<Value, String> {
    let mut out = Map::new();
    for (i, v) in args.values.iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Object(map) => out.extend(map.clone()),
            other => {
                return Err(format!(
                    "argument {}: expected a map, got {}",
                    i + 1,
                    describe(other)
                ));
            }
        }
    }
    Ok(Value::Object(out))
}

fn length(args: Args<'_>) -> Result<Value, String> {
    args.exactly(1)?;
    Ok(Value::from(match args.get(0)? {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        other => return Err(format!("cannot take the length of {}", describe(other))),
    }))
}

fn range(args: Args<'_>) -> Result<Value, String> {
    const MAX_ELEMENTS: usize = 1024 * 1024;
    let (start, limit, step) = match args.values.len() {
        1 => (0.0, args.num(0)?, 1.0),
        2 => {
            let (s, l) = (args.num(0)?, args.num(1)?);
            (s, l, if l < s { -1.0 } else { 1.0 })
        }
        3 => (args.num(0)?, args.num(1)?, args.num(2)?),
        n => return Err(format!("takes 1 to 3 arguments, got {n}")),
    };
    if step == 0.0 {
        return Err("step must not be zero".to_string());
    }
    if (limit > start && step < 0.0) || (limit < start && step > 0.0) {
        return Err("step goes the wrong way for this start and limit".to_string());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < limit) || (step < 0.0 && x > limit) {
        if out.len() >= MAX_ELEMENTS {
            return Err(format!("more than {MAX_ELEMENTS} elements"));
        }
        out.push(num_value(x)?);
        x += step;
    }
    Ok(Value::Array(out))
}

fn zipmap(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (keys, values) = (args.strings(0)?, args.list(1)?);
    if keys.len() != values.len() {
        return Err(format!("{} keys but {} values", keys.len(), values.len()));
    }
    Ok(Value::Object(keys.into_iter().zip(values).collect()))
}

fn element(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (list, i) = (args.list(0)?, args.int(1)?);
    if list.is_empty() {
        return Err("cannot use element() on an empty list".to_string());
    }
    let i = usize::try_from(i).map_err(|_| "the index must not be negative".to_string())?;
    Ok(list[i % list.len()].clone())
}

fn index(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (list, wanted) = (args.list(0)?, args.get(1)?);
    list.iter()
        .position(|v| v == wanted)
        .map(Value::from)
        .ok_or_else(|| format!("{} is not in the list", describe(wanted)))
}

fn slice(args: Args<'_>) -> Result<Value, String> {
    args.exactly(3)?;
    let list = args.list(0)?;
    let (start, end) = (args.int(1)?, args.int(2)?);
    let len = list.len() as i64;
    if start < 0 || end > len || start > end {
        return Err(format!(
            "start {start} and end {end} do not fit a list of {len} (0 <= start <= end <= length)"
        ));
    }
    Ok(Value::Array(list[start as usize..end as usize].to_vec()))
}

fn sort(args: Args<'_>) -> Result<Value, String> {
    args.exactly(1)?;
    let mut items = args.strings(0)?;
    items.sort();
    Ok(Value::Array(items.into_iter().map(Value::String).collect()))
}

fn coalesce(args: Args<'_>) -> Result<Value, String> {
    args.at_least(1)?;
    args.values
        .iter()
        .find(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "no non-null, non-empty argument".to_string())
}

fn chunklist(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let list = args.list(0)?;
    let size = args.int(1)?;
    if size < 0 {
        return Err("the chunk size must not be negative".to_string());
    }
    if size == 0 {
        return Ok(Value::Array(vec![Value::Array(list)]));
    }
    Ok(Value::Array(
        list.chunks(size as usize)
            .map(|c| Value::Array(c.to_vec()))
            .collect(),
    ))
}

fn setproduct(args: Args<'_>) -> Result<Value, String> {
    args.at_least(2)?;
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for i in 0..args.values.len() {
        let set = dedup(args.list(i)?);
        rows = rows
            .into_iter()
            .flat_map(|row| {
                set.iter().map(move |v| {
                    let mut next = row.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    Ok(Value::Array(rows.into_iter().map(Value::Array).collect()))
}
