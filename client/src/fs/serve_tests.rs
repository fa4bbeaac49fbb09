use super::*;

fn req(offset: i64, limit: i64, origin: &str, follow: bool) -> FsRequest {
    FsRequest {
        offset,
        limit,
        origin: origin.to_string(),
        follow,
        ..FsRequest::default()
    }
}

#[test]
fn read_at_starts_at_the_offset_with_an_optional_limit() {
    let plan = plan_read(FsOp::ReadAt, &req(10, 5, "", false), 100).unwrap();
    assert_eq!((plan.start, plan.limit, plan.follow), (10, Some(5), false));
    let plan = plan_read(FsOp::ReadAt, &req(10, 0, "", false), 100).unwrap();
    assert_eq!(plan.limit, None, "limit 0 reads to the end");
    let err = plan_read(FsOp::ReadAt, &req(-1, 0, "", false), 100).unwrap_err();
    assert_eq!(err.status(), 400);
}

#[test]
fn stream_offsets_count_from_the_origin() {
    let start = plan_read(FsOp::Stream, &req(10, 0, "start", true), 100).unwrap();
    assert_eq!((start.start, start.follow), (10, true));
    let end = plan_read(FsOp::Stream, &req(10, 0, "end", false), 100).unwrap();
    assert_eq!(end.start, 90);
    let before = plan_read(FsOp::Stream, &req(500, 0, "end", false), 100).unwrap();
    assert_eq!(before.start, 0, "further back than the file starts at 0");
    let err = plan_read(FsOp::Stream, &req(0, 0, "middle", false), 100).unwrap_err();
    assert_eq!(err.status(), 400);
}

#[tokio::test]
async fn following_sends_appended_bytes_once_and_in_order() {
    use crate::shutdown::StopSource;
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"abc").unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let source = StopSource::new();
    let mut stop = source.subscribe();
    let file = tokio::fs::File::open(&path).await.unwrap();
    let plan = ReadPlan {
        start: 1,
        limit: None,
        follow: true,
    };
    let reader = tokio::spawn(async move {
        let out = Out { id: 7, tx: &tx };
        send_file(file, "f", plan, &out, &mut stop).await
    });
    let mut got = Vec::new();
    let mut next = async || match rx.recv().await.unwrap().msg {
        Some(tunnel_from_client::Msg::Chunk(c)) => c,
        other => panic!("{other:?}"),
    };
    let first = next().await;
    assert_eq!((first.offset, first.data.as_slice()), (1, &b"bc"[..]));
    got.extend(first.data);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"def")
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(5), next())
        .await
        .unwrap();
    assert_eq!(second.offset, 3);
    got.extend(second.data);
    assert_eq!(got, b"bcdef");
    source.stop();
    reader.await.unwrap().unwrap();
}
