//! The fuzz corpora as unit tests: every file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/`, and for the HCL targets the repository's own jobspecs
//! ([`SHARED_HCL_SEEDS`], read in place rather than copied), goes through the target's body on
//! stable Rust, and must finish without a panic in under [`MAX_INPUT_TIME`] (the fuzz runs'
//! `-timeout=1`).

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nomadish_fuzz_entry::TARGETS;

/// The most one input may take, as libFuzzer's `-timeout=1` in the fuzz runs.
const MAX_INPUT_TIME: Duration = Duration::from_secs(1);

/// The fewest seed inputs a target's committed corpus may hold.
const MIN_CORPUS: usize = 5;

/// Directories of jobspecs that seed the HCL targets (`jobspec`, `schedule`) where they lie;
/// `.ci/fuzz` hands the same directories to libFuzzer.
const SHARED_HCL_SEEDS: &[&str] = &[
    "jobspecs/tests/fixtures/good",
    "jobspecs/tests/fixtures/broken",
    "examples",
];

/// The shared seeds of `target`: the `.hcl` files of [`SHARED_HCL_SEEDS`] for the HCL targets,
/// and for `schedule` (which takes the same input) the `jobspec` target's seeds and
/// regressions too.
fn shared_seeds(target: &str) -> Vec<PathBuf> {
    if !matches!(target, "jobspec" | "schedule") {
        return Vec::new();
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seeds: Vec<PathBuf> = SHARED_HCL_SEEDS
        .iter()
        .flat_map(|dir| inputs(&repo.join(dir)))
        .filter(|p| p.extension().is_some_and(|e| e == "hcl"))
        .collect();
    if target == "schedule" {
        seeds.extend(inputs(&fuzz_dir().join("corpus/jobspec")));
        seeds.extend(inputs(&fuzz_dir().join("regressions/jobspec")));
    }
    seeds
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        // `.keep` and other dotfiles hold directories in git; they are not inputs.
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Runs every input of one target; returns the failures, each naming its file.
fn run_target(name: &str, body: fn(&[u8])) -> (usize, Vec<String>) {
    let root = fuzz_dir();
    let mut corpus = inputs(&root.join("corpus").join(name));
    corpus.extend(shared_seeds(name));
    assert!(
        corpus.len() >= MIN_CORPUS,
        "{name}'s seeds hold {} inputs, expected at least {MIN_CORPUS}",
        corpus.len()
    );
    let all: Vec<PathBuf> = corpus
        .into_iter()
        .chain(inputs(&root.join("regressions").join(name)))
        .collect();
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, PathBuf::new());
    for path in &all {
        let data = fs::read(path).expect("corpus file");
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&data)));
        let took = started.elapsed();
        if took > slowest.0 {
            slowest = (took, path.clone());
        }
        if outcome.is_err() {
            failures.push(format!("{}: panicked", path.display()));
        } else if took > MAX_INPUT_TIME {
            failures.push(format!("{}: took {took:?}", path.display()));
        }
    }
    println!("{name}: slowest {:?} ({})", slowest.0, slowest.1.display());
    (all.len(), failures)
}

fn check(name: &str) {
    let (_, body) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a target of that name");
    let (count, failures) = run_target(name, *body);
    println!("{name}: {count} inputs");
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
}

#[test]
fn jobspec_corpus_and_regressions() {
    check("jobspec");
}

#[test]
fn acl_policy_corpus_and_regressions() {
    check("acl_policy");
}

#[test]
fn http_job_json_corpus_and_regressions() {
    check("http_job_json");
}

#[test]
fn schedule_corpus_and_regressions() {
    check("schedule");
}

/// Every target has a fuzz target file and a test here, so none is forgotten.
#[test]
fn every_target_has_a_fuzz_target_file() {
    for (name, _) in TARGETS {
        let file = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(file.is_file(), "{} is missing", file.display());
    }
    assert_eq!(TARGETS.len(), 4, "add a test above for the new target");
}
