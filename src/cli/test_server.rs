//! A scripted stand-in for an agent's HTTP API, for unit tests of the client-side code:
//! an axum router served on an ephemeral loopback port.

use axum::Router;

/// Serves `router` on 127.0.0.1 and returns its base URL (`http://127.0.0.1:PORT`).
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// An API client for `url`.
pub fn client(url: &str) -> super::api::ApiClient {
    super::api::ApiClient::new(super::api::ApiConfig {
        address: url.to_string(),
        ..Default::default()
    })
    .expect("client")
}
