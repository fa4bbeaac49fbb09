use super::*;

fn record(i: u16) -> AuditRecord {
    AuditRecord {
        time: format!("2026-11-23T12:00:{:02}Z", i % 60),
        accessor: format!("accessor-{i}"),
        remote: "10.0.0.7:51234".to_string(),
        method: "POST".to_string(),
        path: format!("/v1/job/web-{i}"),
        namespace: "default".to_string(),
        outcome: if i.is_multiple_of(2) {
            "allowed"
        } else {
            "denied"
        }
        .to_string(),
        status: if i.is_multiple_of(2) { 200 } else { 403 },
    }
}

/// A log of `n` lines, with a trailing newline, and the hash of its last line.
fn log(n: u16) -> (Vec<String>, String) {
    let mut prev = GENESIS.to_string();
    let mut lines = Vec::new();
    for i in 0..n {
        let (line, hash) = chain_line(&prev, &record(i));
        lines.push(line);
        prev = hash;
    }
    (lines, prev)
}

fn text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn round_trip_and_resume() {
    let (lines, last) = log(5);
    assert_eq!(verify(&text(&lines)), Ok(5));
    assert_eq!(line_hash(&lines[4]), last);
    // Resume after a restart: hash the last line and keep chaining.
    let (next, _) = chain_line(&line_hash(&lines[4]), &record(5));
    let mut more = lines.clone();
    more.push(next);
    assert_eq!(verify(&text(&more)), Ok(6));
    assert_eq!(verify(""), Ok(0));
    assert_eq!(GENESIS.len(), 64);
}

#[test]
fn fixed_field_order_and_no_newline() {
    let (line, hash) = chain_line(GENESIS, &record(0));
    assert!(!line.contains('\n'));
    let expected_start = format!(
        "{{\"prev\":\"{GENESIS}\",\"time\":\"2026-11-23T12:00:00Z\",\"accessor\":\"accessor-0\",\
         \"remote\":\"10.0.0.7:51234\",\"method\":\"POST\",\"path\":\"/v1/job/web-0\",\
         \"namespace\":\"default\",\"outcome\":\"allowed\",\"status\":200,\"hash\":\""
    );
    assert_eq!(line, format!("{expected_start}{hash}\"}}"));
}

#[test]
fn edited_line_is_detected_at_that_line() {
    let (mut lines, _) = log(5);
    lines[2] = lines[2].replace("\"status\":200", "\"status\":201");
    let err = verify(&text(&lines)).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.reason.contains("line hash mismatch"), "{err}");
}

#[test]
fn edit_with_recomputed_hash_is_detected_at_the_next_line() {
    let (mut lines, _) = log(5);
    let forged = AuditRecord {
        outcome: "allowed".to_string(),
        status: 200,
        ..record(1)
    };
    let prev = line_hash(&lines[0]);
    lines[1] = chain_line(&prev, &forged).0;
    let err = verify(&text(&lines)).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.reason.contains("prev hash mismatch"), "{err}");
}

#[test]
fn deleted_line_is_detected_at_the_next() {
    let (mut lines, _) = log(5);
    lines.remove(1);
    let err = verify(&text(&lines)).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.reason.contains("prev hash mismatch"), "{err}");
    // Deleting the first line breaks the genesis link.
    let (mut lines, _) = log(3);
    lines.remove(0);
    assert_eq!(verify(&text(&lines)).unwrap_err().line, 1);
}

#[test]
fn inserted_line_is_detected() {
    // A well-formed line chained to its predecessor: the line after it no longer links.
    let (mut lines, _) = log(4);
    let forged = chain_line(&line_hash(&lines[1]), &record(9)).0;
    lines.insert(2, forged);
    assert_eq!(verify(&text(&lines)).unwrap_err().line, 4);
    // A copied line: its prev does not match its new predecessor.
    let (mut lines, _) = log(4);
    let copy = lines[0].clone();
    lines.insert(3, copy);
    assert_eq!(verify(&text(&lines)).unwrap_err().line, 4);
}

#[test]
fn malformed_lines_are_reported() {
    let (mut lines, _) = log(3);
    lines[1] = "not json".to_string();
    let err = verify(&text(&lines)).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.reason.contains("not a valid audit line"), "{err}");

    let (lines, _) = log(3);
    let spaced = format!("{}\n\n{}\n", lines[0], lines[1]);
    assert_eq!(verify(&spaced).unwrap_err().line, 2);

    // Reformatted, with the hash recomputed over the new bytes: still not what the log writes.
    let (mut lines, _) = log(2);
    let spaced = lines[1].replacen("{\"prev\"", "{ \"prev\"", 1);
    let cut = spaced.len() - HASH_SUFFIX_LEN;
    let head = &spaced[..cut];
    lines[1] = format!(
        "{head}{HASH_PREFIX}{}\"}}",
        sha256_hex(format!("{head}}}").as_bytes())
    );
    let err = verify(&text(&lines)).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.reason.contains("form"), "{err}");
}

#[test]
fn truncated_tail_still_verifies() {
    // Documented limitation: a chain cannot notice that its tail is gone.
    let (lines, _) = log(5);
    assert_eq!(verify(&text(&lines[..3])), Ok(3));
}
