//! No input makes the parser panic, and no input is slow: every truncation of every fixture
//! and example, random mutations of them, random token soup, and large or deep inputs.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;

/// The most any single parse may take (the brief's bound; debug builds stay well under it).
const MAX_PARSE_TIME: Duration = Duration::from_secs(1);

/// The corpus, read once for all proptest cases.
static CORPUS: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();

fn corpus() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("tests/fixtures/good"),
        root.join("tests/fixtures/broken"),
        root.join("../examples"),
    ];
    let mut files = Vec::new();
    for dir in dirs {
        for entry in fs::read_dir(&dir).expect("corpus directory") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "hcl") {
                let text = fs::read_to_string(&path).expect("corpus file");
                files.push((path, text));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 30, "corpus too small: {}", files.len());
    files
}

/// Parses and checks the outcome is well formed: Ok, or an error with 1-based positions.
fn parse_checked(src: &str) -> Result<(), String> {
    let started = Instant::now();
    let result = nomadish_jobspecs::parse(src, "input.hcl");
    let elapsed = started.elapsed();
    if elapsed > MAX_PARSE_TIME {
        return Err(format!("parse took {elapsed:?}"));
    }
    if let Err(err) = result {
        if err.diagnostics().is_empty() || err.line() == 0 || err.column() == 0 {
            return Err(format!("error without a position: {err}"));
        }
        if !err.to_string().starts_with("input.hcl:") {
            return Err(format!("error not in FILE:LINE:COL form: {err}"));
        }
    }
    Ok(())
}

#[test]
fn every_prefix_of_every_fixture_parses_or_errs() {
    for (path, text) in corpus() {
        for (end, _) in text.char_indices().chain([(text.len(), ' ')]) {
            if let Err(why) = parse_checked(&text[..end]) {
                panic!("{} truncated at byte {end}: {why}", path.display());
            }
        }
    }
}

#[test]
fn every_suffix_of_every_good_fixture_parses_or_errs() {
    for (path, text) in corpus()
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains("good"))
    {
        for (start, _) in text.char_indices() {
            if let Err(why) = parse_checked(&text[start..]) {
                panic!("{} from byte {start}: {why}", path.display());
            }
        }
    }
}

/// Tokens that make random input look like a jobspec often enough to reach deep code.
const TOKENS: [&str; 40] = [
    "job",
    "group",
    "task",
    "\"x\"",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    ",",
    "\n",
    " ",
    "driver",
    "count",
    "config",
    "resources",
    "memory",
    "cpu",
    "restart",
    "constraint",
    "network",
    "port",
    "\"${NOMAD_ALLOC_ID}\"",
    "<<EOF\n",
    "EOF\n",
    "<<-EOT\n",
    "  EOT\n",
    "-1",
    "1e99",
    "9223372036854775808",
    "true",
    "\"30s\"",
    "#",
    "//",
    "/*",
    "*/",
    "%{",
    "\\",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..200).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,300}") {
        prop_assert_eq!(parse_checked(&src), Ok(()));
    }

    #[test]
    fn token_soup_never_panics(src in token_soup()) {
        prop_assert_eq!(parse_checked(&src), Ok(()));
    }

    #[test]
    fn mutated_fixtures_never_panic(
        file in 0usize..1000,
        at in 0usize..10_000,
        cut in 0usize..20,
        insert in prop::sample::select(TOKENS.to_vec()),
    ) {
        let files = CORPUS.get_or_init(corpus);
        let (_, text) = &files[file % files.len()];
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let mutated = format!("{}{insert}{}", &text[..at], &text[end..]);
        prop_assert_eq!(parse_checked(&mutated), Ok(()));
    }
}

fn many_groups(n: usize) -> String {
    let mut src = String::from("job \"big\" {\n");
    for i in 0..n {
        src.push_str(&format!(
            "  group \"g{i}\" {{\n    count = 2\n    task \"t\" {{\n      driver = \"raw_exec\"\n      config {{\n        command = \"/bin/echo\"\n        args = [\"${{NOMAD_ALLOC_ID}}\", \"{i}\"]\n      }}\n    }}\n  }}\n"
        ));
    }
    src.push_str("}\n");
    src
}

#[test]
fn large_and_pathological_inputs_stay_fast() {
    let long_string = format!(
        "job \"x\" {{\n  meta {{\n    k = \"{}\"\n  }}\n}}\n",
        "a".repeat(1 << 18)
    );
    let many_errors = format!("job \"x\" {{\n{}}}\n", "  nope {}\n".repeat(10_000));
    let deep = format!(
        "job \"x\" {{\n  meta = {}1{}\n}}\n",
        "[".repeat(60),
        "]".repeat(60)
    );
    let too_deep = format!(
        "job \"x\" {{\n  meta = {}1{}\n}}\n",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let long_chain = format!(
        "job \"x\" {{\n  priority = 1{}\n}}\n",
        " + 1".repeat(10_000)
    );
    let unterminated = format!("job \"x\" {{\n  type = \"{}\n}}\n", "b".repeat(100_000));
    let braces = "{".repeat(100_000);
    let mut nested_chain = "1".to_string();
    for _ in 0..60 {
        nested_chain = format!("({nested_chain}){}", " + 1".repeat(120));
    }
    let nested_chain = format!("job \"x\" {{\n  priority = {nested_chain}\n}}\n");
    let interpolations = format!(
        "job \"x\" {{\n  region = \"{}\"\n}}\n",
        "${a}".repeat(20_000)
    );
    let big = many_groups(1_000);
    for (name, src) in [
        ("long string", long_string.as_str()),
        ("many errors", &many_errors),
        ("deep", &deep),
        ("too deep", &too_deep),
        ("long chain", &long_chain),
        ("unterminated", &unterminated),
        ("braces", &braces),
        ("nested chains", &nested_chain),
        ("interpolations", &interpolations),
        ("1000 groups", &big),
    ] {
        let started = Instant::now();
        let result = parse_checked(src);
        assert_eq!(result, Ok(()), "{name}");
        println!("{name}: {} bytes in {:?}", src.len(), started.elapsed());
    }
    let job = nomadish_jobspecs::parse(&big, "big.hcl").expect("1000 groups parse");
    assert_eq!(job.task_groups.len(), 1_000);
}
