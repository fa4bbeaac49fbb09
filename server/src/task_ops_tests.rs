//! Task operations through a tunnel whose client end is played by the test.

use nomadish_proto::node_v1::{TaskSignalReply, tunnel_to_client};

use super::*;

fn tunnel() -> (
    TunnelRegistry,
    mpsc::Receiver<Result<TunnelToClient, tonic::Status>>,
) {
    let registry = TunnelRegistry::default();
    let (tx, rx) = mpsc::channel(16);
    registry.register("n1", tx);
    (registry, rx)
}

async fn next_msg(rx: &mut mpsc::Receiver<Result<TunnelToClient, tonic::Status>>) -> ToClient {
    rx.recv().await.unwrap().unwrap().msg.unwrap()
}

#[tokio::test]
async fn exec_output_is_routed_to_its_stream_and_dropping_cancels() {
    let (tunnels, mut client) = tunnel();
    let ops = TaskOps::default();
    let start = ExecStart {
        alloc_id: "a1".into(),
        task: "web".into(),
        command: vec!["echo".into(), "hi".into()],
        ..ExecStart::default()
    };
    let mut stream = ops.open_exec(&tunnels, "n1", start).await.unwrap();
    let ToClient::ExecStart(sent) = next_msg(&mut client).await else {
        panic!("expected ExecStart")
    };
    assert_eq!(sent.command, ["echo", "hi"]);
    let id = sent.stream_id;
    assert!(
        stream
            .send(ExecInput {
                stdin: b"x".to_vec(),
                ..ExecInput::default()
            })
            .await
    );
    let ToClient::ExecInput(input) = next_msg(&mut client).await else {
        panic!("expected ExecInput")
    };
    assert_eq!((input.stream_id, input.stdin.as_slice()), (id, &b"x"[..]));
    let out = ExecOutput {
        stream_id: id,
        stdout: b"hi\n".to_vec(),
        ..ExecOutput::default()
    };
    assert!(ops.route(&FromClient::ExecOutput(out)).await);
    assert_eq!(stream.next().await.unwrap().stdout, b"hi\n");
    drop(stream);
    let ToClient::ExecInput(cancel) = next_msg(&mut client).await else {
        panic!("expected cancel")
    };
    assert!(cancel.cancel && cancel.stream_id == id);
}

#[tokio::test]
async fn a_signal_waits_for_the_clients_reply_and_unknown_nodes_are_not_connected() {
    let (tunnels, mut client) = tunnel();
    let ops = TaskOps::default();
    let req = TaskSignalRequest {
        alloc_id: "a1".into(),
        signal: "SIGUSR1".into(),
        ..TaskSignalRequest::default()
    };
    let answer = {
        let (ops, tunnels) = (ops.clone(), tunnels.clone());
        tokio::spawn(async move { ops.signal(&tunnels, "n1", req).await })
    };
    let Some(tunnel_to_client::Msg::TaskSignal(sent)) = client.recv().await.unwrap().unwrap().msg
    else {
        panic!("expected TaskSignal")
    };
    let reply = TaskSignalReply {
        request_id: sent.request_id,
        error: "Task \"web\" is not running".into(),
        error_code: 400,
    };
    assert!(ops.route(&FromClient::TaskSignalReply(reply)).await);
    let (error, code) = answer.await.unwrap().unwrap();
    assert_eq!((error.as_str(), code), ("Task \"web\" is not running", 400));
    let err = ops
        .signal(&tunnels, "n2", TaskSignalRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, TunnelError::NotConnected(_)));
}
