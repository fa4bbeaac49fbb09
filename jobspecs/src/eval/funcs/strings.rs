//! String functions: format, formatlist, join, split, case, replace, trims, regex, substr,
//! strrev, indent, chomp.

use regex::Regex;
use serde_json::{Map, Value};

use super::{Args, Func, as_num, as_str};
use crate::value::describe;

pub(super) const FUNCS: &[(&str, Func)] = &[
    ("format", format),
    ("formatlist", formatlist),
    ("join", join),
    ("split", split),
    ("upper", |a| one_string(a, |s| s.to_uppercase())),
    ("lower", |a| one_string(a, |s| s.to_lowercase())),
    ("title", |a| one_string(a, title)),
    ("trimspace", |a| one_string(a, |s| s.trim().to_string())),
    ("strrev", |a| one_string(a, |s| s.chars().rev().collect())),
    ("chomp", |a| {
        one_string(a, |s| s.trim_end_matches(['\n', '\r']).to_string())
    }),
    ("trim", trim),
    ("trimprefix", trimprefix),
    ("trimsuffix", trimsuffix),
    ("replace", replace),
    ("regex_replace", regex_replace),
    ("regex", regex_fn),
    ("regexall", regexall),
    ("substr", substr),
    ("indent", indent),
];

/// The largest width, precision or indent accepted (keeps a jobspec from asking for gigabytes).
const MAX_WIDTH: usize = 4096;

fn one_string(args: Args<'_>, f: impl Fn(&str) -> String) -> Result<Value, String> {
    args.exactly(1)?;
    Ok(Value::String(f(&args.str(0)?)))
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

fn format(args: Args<'_>) -> Result<Value, String> {
    args.at_least(1)?;
    let spec = args.str(0)?;
    Ok(Value::String(go_format(&spec, &args.values[1..])?))
}

fn formatlist(args: Args<'_>) -> Result<Value, String> {
    args.at_least(1)?;
    let spec = args.str(0)?;
    let rest = &args.values[1..];
    let mut len: Option<usize> = None;
    for v in rest {
        if let Value::Array(items) = v {
            match len {
                Some(l) if l != items.len() => {
                    return Err("all list arguments must have the same length".to_string());
                }
                _ => len = Some(items.len()),
            }
        }
    }
    let len = len.unwrap_or(1);
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let row: Vec<Value> = rest
            .iter()
            .map(|v| match v {
                Value::Array(items) => items[i].clone(),
                other => other.clone(),
            })
            .collect();
        out.push(Value::String(go_format(&spec, &row)?));
    }
    Ok(Value::Array(out))
}

/// Go's `fmt` verbs as cty's `format` takes them: `%s %d %f %t %v %q %x %X %o %b %e %%`, with
/// flags `-`, `0`, `+`, width, precision and `%[n]` argument indexes.
pub(crate) fn go_format(spec: &str, values: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero, mut plus) = (false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
            let n: usize = digits
                .parse()
                .map_err(|_| format!("bad argument index [{digits}]"))?;
            next = n.checked_sub(1).ok_or("argument indexes start at 1")?;
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(if p.len() > 4 {
                usize::MAX
            } else {
                p.parse().unwrap_or(0)
            });
        }
        let too_wide = |w: &str| w.len() > 4 || w.parse::<usize>().is_ok_and(|w| w > MAX_WIDTH);
        if too_wide(&width) || precision.is_some_and(|p| p > MAX_WIDTH) {
            return Err(format!(
                "widths and precisions above {MAX_WIDTH} are not supported"
            ));
        }
        let verb = chars.next().ok_or("format ends with %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let value = values
            .get(next)
            .ok_or_else(|| format!("not enough arguments for %{verb}"))?;
        next += 1;
        let mut text = verb_text(verb, value, precision, plus)?;
        let width: usize = width.parse().unwrap_or(0);
        let len = text.chars().count();
        if len < width {
            let pad = width - len;
            if left {
                text.push_str(&" ".repeat(pad));
            } else if zero && matches!(verb, 'd' | 'f' | 'e' | 'x' | 'X' | 'o' | 'b') {
                let (sign, digits) = match text.strip_prefix(['-', '+']) {
                    Some(rest) => (&text[..1], rest),
                    None => ("", text.as_str()),
                };
                text = format!("{sign}{}{digits}", "0".repeat(pad));
            } else {
                text = format!("{}{text}", " ".repeat(pad));
            }
        }
        out.push_str(&text);
    }
    if next < values.len() && !spec.contains("%[") {
        return Err(format!(
            "too many arguments; only {next} used by the format string"
        ));
    }
    Ok(out)
}

fn verb_text(
    verb: char,
    value: &Value,
    precision: Option<usize>,
    plus: bool,
) -> Result<String, String> {
    let sign = |x: f64, s: String| if plus && x >= 0.0 { format!("+{s}") } else { s };
    Ok(match verb {
        's' => {
            let s = as_str(value)?;
            match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'v' => match value {
            Value::String(s) => s.clone(),
            Value::Null => "null".to_string(),
            other => other.to_string(),
        },
        'q' => serde_json::to_string(&as_str(value)?).map_err(|e| e.to_string())?,
        't' => match value {
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("%t needs a bool, got {}", describe(other))),
        },
        'd' | 'x' | 'X' | 'o' | 'b' => {
            let x = as_num(value)?;
            if x.fract() != 0.0 {
                return Err(format!("%{verb} needs a whole number, got {x}"));
            }
            #[allow(clippy::cast_possible_truncation)]
            let i = x as i64;
            let body = match verb {
                'd' => i.unsigned_abs().to_string(),
                'x' => format!("{:x}", i.unsigned_abs()),
                'X' => format!("{:X}", i.unsigned_abs()),
                'o' => format!("{:o}", i.unsigned_abs()),
                _ => format!("{:b}", i.unsigned_abs()),
            };
            sign(x, if i < 0 { format!("-{body}") } else { body })
        }
        'f' | 'F' => {
            let x = as_num(value)?;
            sign(x, format!("{x:.*}", precision.unwrap_or(6)))
        }
        'e' => {
            let x = as_num(value)?;
            let s = format!("{x:.*e}", precision.unwrap_or(6));
            // Go writes a signed two-digit exponent: 1.5e+03.
            let s = match s.split_once('e') {
                Some((m, e)) => {
                    let (es, ed) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                    format!("{m}e{es}{ed:0>2}")
                }
                None => s,
            };
            sign(x, s)
        }
        other => return Err(format!("unsupported format verb %{other}")),
    })
}

fn join(args: Args<'_>) -> Result<Value, String> {
    args.at_least(2)?;
    let sep = args.str(0)?;
    let mut parts = Vec::new();
    for i in 1..args.values.len() {
        parts.extend(args.strings(i)?);
    }
    Ok(Value::String(parts.join(&sep)))
}

fn split(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (sep, s) = (args.str(0)?, args.str(1)?);
    Ok(Value::Array(
        s.split(sep.as_str())
            .map(|p| Value::String(p.to_string()))
            .collect(),
    ))
}

fn trim(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (s, cut) = (args.str(0)?, args.str(1)?);
    Ok(Value::String(
        s.trim_matches(|c| cut.contains(c)).to_string(),
    ))
}

fn trimprefix(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (s, p) = (args.str(0)?, args.str(1)?);
    Ok(Value::String(
        s.strip_prefix(p.as_str()).unwrap_or(&s).to_string(),
    ))
}

fn trimsuffix(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (s, p) = (args.str(0)?, args.str(1)?);
    Ok(Value::String(
        s.strip_suffix(p.as_str()).unwrap_or(&s).to_string(),
    ))
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

fn replace(args: Args<'_>) -> Result<Value, String> {
    args.exactly(3)?;
    let (s, find, with) = (args.str(0)?, args.str(1)?, args.str(2)?);
    if find.len() > 1 && find.starts_with('/') && find.ends_with('/') {
        let re = compile(&find[1..find.len() - 1])?;
        return Ok(Value::String(
            re.replace_all(&s, with.as_str()).into_owned(),
        ));
    }
    Ok(Value::String(s.replace(&find, &with)))
}

fn regex_replace(args: Args<'_>) -> Result<Value, String> {
    args.exactly(3)?;
    let (s, pattern, with) = (args.str(0)?, args.str(1)?, args.str(2)?);
    let re = compile(&pattern)?;
    Ok(Value::String(
        re.replace_all(&s, with.as_str()).into_owned(),
    ))
}

/// One match as `regex` returns it: the text, a list of groups or a map of named groups.
fn captured(re: &Regex, caps: &regex::Captures<'_>) -> Value {
    let text = |m: Option<regex::Match<'_>>| {
        m.map_or(Value::Null, |m| Value::String(m.as_str().to_string()))
    };
    if re.captures_len() == 1 {
        return text(caps.get(0));
    }
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    if names.iter().any(Option::is_some) {
        let mut map = Map::new();
        for name in names.into_iter().flatten() {
            map.insert(name.to_string(), text(caps.name(name)));
        }
        return Value::Object(map);
    }
    Value::Array((1..re.captures_len()).map(|i| text(caps.get(i))).collect())
}

fn regex_fn(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (pattern, s) = (args.str(0)?, args.str(1)?);
    let re = compile(&pattern)?;
    let caps = re
        .captures(&s)
        .ok_or_else(|| format!("pattern {pattern:?} did not match {s:?}"))?;
    Ok(captured(&re, &caps))
}

fn regexall(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let (pattern, s) = (args.str(0)?, args.str(1)?);
    let re = compile(&pattern)?;
    Ok(Value::Array(
        re.captures_iter(&s).map(|c| captured(&re, &c)).collect(),
    ))
}

fn substr(args: Args<'_>) -> Result<Value, String> {
    args.exactly(3)?;
    let s: Vec<char> = args.str(0)?.chars().collect();
    let (offset, length) = (args.int(1)?, args.int(2)?);
    let len = i64::try_from(s.len()).map_err(|e| e.to_string())?;
    let start = if offset < 0 { len + offset } else { offset };
    if start < 0 || start > len {
        return Err(format!(
            "offset {offset} is out of range for a string of {len} characters"
        ));
    }
    let end = if length < 0 {
        len
    } else {
        (start + length).min(len)
    };
    let (start, end) = (start as usize, end.max(start) as usize);
    Ok(Value::String(s[start..end].iter().collect()))
}

fn indent(args: Args<'_>) -> Result<Value, String> {
    args.exactly(2)?;
    let n = usize::try_from(args.int(0)?).map_err(|_| "spaces must not be negative")?;
    if n > MAX_WIDTH {
        return Err(format!("more than {MAX_WIDTH} spaces"));
    }
    let s = args.str(1)?;
    let pad = " ".repeat(n);
    Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
}
