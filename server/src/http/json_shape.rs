//! A one-pass check of a JSON body's shape before it is parsed (scenario 18 of
//! RELIABILITY.md). The body limit bounds the bytes, not what they expand to: ten megabytes
//! of `[{},{},...]` in a job's task groups would become millions of default task groups
//! (gigabytes, minutes of CPU). The scan counts brackets and commas outside strings, keeps
//! one counter per open container, and refuses a body nested too deep, with too many
//! elements in one array or object, or with too many containers in all. Malformed JSON that
//! passes the scan is refused by the parser afterwards.

/// Deepest nesting of arrays and objects (serde_json's own limit is 128).
pub const MAX_DEPTH: usize = 64;
/// Most elements in one array, or members in one object.
pub const MAX_ELEMENTS: usize = 10_000;
/// Most arrays and objects in one body.
pub const MAX_CONTAINERS: usize = 100_000;

/// What is wrong with a body's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// An array or object with more than [`MAX_ELEMENTS`] entries.
    #[error("a JSON array or object with more than {MAX_ELEMENTS} elements")]
    TooLong,
    /// More than [`MAX_CONTAINERS`] arrays and objects.
    #[error("more than {MAX_CONTAINERS} JSON arrays and objects")]
    TooMany,
}

/// Checks `body` against the limits in one pass, without allocating per element.
pub fn check(body: &[u8]) -> Result<(), ShapeError> {
    // Commas seen in each open container: its elements minus one.
    let mut commas: Vec<usize> = Vec::new();
    let mut containers = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                containers += 1;
                if containers > MAX_CONTAINERS {
                    return Err(ShapeError::TooMany);
                }
                if commas.len() >= MAX_DEPTH {
                    return Err(ShapeError::TooDeep);
                }
                commas.push(0);
            }
            b',' => {
                if let Some(n) = commas.last_mut() {
                    *n += 1;
                    if *n >= MAX_ELEMENTS {
                        return Err(ShapeError::TooLong);
                    }
                }
            }
            b']' | b'}' => {
                commas.pop();
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_jobs_pass_and_strings_do_not_count() {
        let job = br#"{"Job":{"ID":"web","Meta":{"k":"[[[[,,,,{{{{\"]]]"},"TaskGroups":[{"Name":"g","Count":3,"Tasks":[{"Name":"t"}]}]}}"#;
        assert_eq!(check(job), Ok(()));
        let long_string = format!(r#"{{"Job":{{"ID":"{}"}}}}"#, ",".repeat(100_000));
        assert_eq!(check(long_string.as_bytes()), Ok(()));
    }

    #[test]
    fn deep_long_and_numerous_bodies_are_refused() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(check(deep.as_bytes()), Err(ShapeError::TooDeep));
        assert_eq!(check("[".repeat(MAX_DEPTH).as_bytes()), Ok(()));
        let long = format!("[{}1]", "1,".repeat(MAX_ELEMENTS));
        assert_eq!(check(long.as_bytes()), Err(ShapeError::TooLong));
        let fits = format!("[{}1]", "1,".repeat(MAX_ELEMENTS - 2));
        assert_eq!(check(fits.as_bytes()), Ok(()));
        // 5,000 elements of 21 containers each: every array short, too many in all.
        let element = format!("[{}[]],", "[],".repeat(19));
        let many = format!("[{}]", element.repeat(5_000));
        assert_eq!(check(many.as_bytes()), Err(ShapeError::TooMany));
    }
}
