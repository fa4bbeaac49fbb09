//! A tower layer on the gRPC server that times every call by service and method
//! (`/nomadish.node.v1.NodeService/Heartbeat` → `service="NodeService", method="Heartbeat"`).
//! Streaming calls are timed until their response starts.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};

/// The sample gRPC call latencies go to.
pub const GRPC_REQUEST: &str = "nomad.grpc.request";

/// Installs [`RpcTimer`] around the gRPC routes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcTimerLayer;

impl<S> Layer<S> for RpcTimerLayer {
    type Service = RpcTimer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTimer { inner }
    }
}

/// Times the calls of the wrapped service.
#[derive(Debug, Clone)]
pub struct RpcTimer<S> {
    inner: S,
}

/// `(service, method)` of a gRPC path, the service without its package.
pub fn split_path(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    let (service, method) = path.split_once('/').unwrap_or((path, ""));
    let service = service.rsplit('.').next().unwrap_or(service);
    (service, method)
}

impl<S, B> Service<http::Request<B>> for RpcTimer<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let (service, method) = split_path(req.uri().path());
        let (service, method) = (service.to_string(), method.to_string());
        let started = Instant::now();
        let call = self.inner.call(req);
        Box::pin(async move {
            let out = call.await;
            let labels = [("service", service.as_str()), ("method", method.as_str())];
            super::measure_since(GRPC_REQUEST, &labels, started);
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            split_path("/nomadish.node.v1.NodeService/Heartbeat"),
            ("NodeService", "Heartbeat")
        );
        assert_eq!(split_path("/Plain/Call"), ("Plain", "Call"));
        assert_eq!(split_path("garbage"), ("garbage", ""));
    }
}
