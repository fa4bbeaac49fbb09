//! Tests of the log reader: positions across rotated files, and following across rotations.

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;

use super::*;
use crate::logs::RotatingWriter;
use crate::shutdown::StopSource;

const TEST_TIMEOUT: Duration = Duration::from_secs(10);

fn req(origin: Origin, offset: u64, follow: bool) -> LogRequest {
    LogRequest {
        task: "web".into(),
        stream: StreamKind::Stdout,
        origin,
        offset,
        follow,
    }
}

async fn collect(dir: &Path, r: LogRequest) -> Vec<LogChunk> {
    let source = StopSource::new();
    let (tx, mut rx) = mpsc::channel(64);
    let mut stop = source.subscribe();
    tokio::time::timeout(TEST_TIMEOUT, stream_log(dir, &r, &tx, &mut stop))
        .await
        .expect("non-follow read finishes")
        .unwrap();
    drop(tx);
    let mut chunks = Vec::new();
    while let Some(c) = rx.recv().await {
        chunks.push(c);
    }
    chunks
}

fn concat(chunks: &[LogChunk]) -> String {
    chunks
        .iter()
        .map(|c| String::from_utf8_lossy(&c.data).into_owned())
        .collect()
}

async fn three_files(dir: &Path) {
    let mut w = RotatingWriter::open_with_limits(dir, "web", StreamKind::Stdout, 10, 4)
        .await
        .unwrap();
    w.write(b"aaaabbbbcc").await.unwrap();
}

#[tokio::test]
async fn reads_all_files_in_order_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path()).await;
    let chunks = collect(dir.path(), req(Origin::Start, 0, false)).await;
    assert_eq!(concat(&chunks), "aaaabbbbcc");
    let files: Vec<_> = chunks.iter().map(|c| (c.file.as_str(), c.offset)).collect();
    assert_eq!(
        files,
        [
            ("web.stdout.0", 0),
            ("web.stdout.1", 0),
            ("web.stdout.2", 0)
        ]
    );
}

#[tokio::test]
async fn offsets_count_across_files_from_either_origin() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path()).await;
    let from_start = collect(dir.path(), req(Origin::Start, 5, false)).await;
    assert_eq!(concat(&from_start), "bbbcc");
    assert_eq!(
        (from_start[0].file.as_str(), from_start[0].offset),
        ("web.stdout.1", 1)
    );
    let from_end = collect(dir.path(), req(Origin::End, 3, false)).await;
    assert_eq!(concat(&from_end), "bcc");
    assert_eq!(
        (from_end[0].file.as_str(), from_end[0].offset),
        ("web.stdout.1", 3)
    );
    assert_eq!(
        concat(&collect(dir.path(), req(Origin::End, 100, false)).await),
        "aaaabbbbcc"
    );
    assert_eq!(
        concat(&collect(dir.path(), req(Origin::Start, 100, false)).await),
        ""
    );
}

#[tokio::test]
async fn no_files_and_no_follow_is_an_empty_stream() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        collect(dir.path(), req(Origin::Start, 0, false))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn follow_sees_new_output_across_rotations_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let source = StopSource::new();
    let (tx, mut rx) = mpsc::channel(64);
    let mut stop = source.subscribe();
    let path = dir.path().to_path_buf();
    let reader = tokio::spawn(async move {
        stream_log(&path, &req(Origin::Start, 0, true), &tx, &mut stop).await
    });
    // The reader waits for the first file, then follows two rotations.
    let mut w = RotatingWriter::open_with_limits(dir.path(), "web", StreamKind::Stdout, 2, 4)
        .await
        .unwrap();
    let mut got = String::new();
    for piece in ["abc", "defg", "hijkl", "mn"] {
        w.write(piece.as_bytes()).await.unwrap();
        while got.len() < "abcdefghijklmn".find(piece).unwrap() + piece.len() {
            let chunk = tokio::time::timeout(TEST_TIMEOUT, rx.recv())
                .await
                .expect("follow delivers new output")
                .unwrap();
            got.push_str(&String::from_utf8_lossy(&chunk.data));
        }
    }
    assert_eq!(got, "abcdefghijklmn");
    assert_eq!(w.index(), 3);
    source.stop();
    tokio::time::timeout(TEST_TIMEOUT, reader)
        .await
        .expect("stop ends a following reader")
        .unwrap()
        .unwrap();
}

#[test]
fn bad_requests_are_rejected() {
    assert!(Origin::parse("middle").is_err());
    assert!(StreamKind::parse("stdin").is_err());
    assert_eq!(Origin::parse("").unwrap(), Origin::Start);
}
