//! The Kubernetes client, with a bound on every API request (`--api-timeout`).
//!
//! kube's default client sets no read timeout ([`kube::Config::read_timeout`] is `None`, so
//! that exec and port-forward sessions survive), which leaves a list or a status patch that
//! the API server never answers hanging forever: its watcher or the status writer would stop
//! for good. [`ApiTimeoutLayer`] bounds each request instead:
//!
//! - every request must get its response head within the timeout;
//! - a request that is not a watch must also deliver its whole body within the timeout,
//!   counted from when it was sent (a list that stalls halfway fails like one that never
//!   starts);
//! - a watch (`watch=true`) keeps its stream open as long as the server sends: kube's watcher
//!   bounds an idle stream itself (the server's `timeoutSeconds` plus a margin).
//!
//! A request that runs out of time fails with [`TimedOut`]; the watchers retry it with
//! backoff and the writer retries the write ([`is_timeout`] tells it apart for metrics).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use kube::client::{Body, ClientBuilder};
use kube::{Client, Config};
use tokio::time::{Instant, Sleep};
use tower_layer::Layer;
use tower_service::Service;

use crate::readiness::conditions::human_duration;

/// A boxed error, as tower and kube pass them around.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request got no (complete) answer within `--api-timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no answer from the API server within {} (--api-timeout)", human_duration(*.0))]
pub struct TimedOut(pub Duration);

/// Whether a client error is (or was caused by) an [`ApiTimeoutLayer`] timeout.
pub fn is_timeout(err: &kube::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<TimedOut>().is_some() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Builds the client for `config`: kube's default stack, bounded by `api_timeout`.
pub fn build(config: Config, api_timeout: Duration) -> Result<Client, kube::Error> {
    Ok(ClientBuilder::try_from(config)?
        .with_layer(&ApiTimeoutLayer::new(api_timeout))
        .build())
}

/// Bounds every request by a timeout (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct ApiTimeoutLayer {
    timeout: Duration,
}

impl ApiTimeoutLayer {
    /// A layer with this bound.
    pub fn new(timeout: Duration) -> Self {
        ApiTimeoutLayer { timeout }
    }
}

impl<S> Layer<S> for ApiTimeoutLayer {
    type Service = ApiTimeout<S>;

    fn layer(&self, inner: S) -> ApiTimeout<S> {
        ApiTimeout {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The service [`ApiTimeoutLayer`] wraps around the client's stack.
#[derive(Clone, Debug)]
pub struct ApiTimeout<S> {
    inner: S,
    timeout: Duration,
}

/// Whether the request opens a watch stream.
fn is_watch(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "watch=true" || p == "watch=1" || p == "watch")
    })
}

impl<S, B> Service<Request<Body>> for ApiTimeout<S>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<DeadlineBody<B>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let timeout = self.timeout;
        let deadline = Instant::now() + timeout;
        let watch = is_watch(request.uri());
        let response = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout_at(deadline, response).await {
                Err(_) => Err(Box::new(TimedOut(timeout)) as BoxError),
                Ok(Err(e)) => Err(e.into()),
                Ok(Ok(response)) => Ok(response.map(|body| DeadlineBody {
                    inner: Box::pin(body),
                    deadline: (!watch).then(|| Box::pin(tokio::time::sleep_until(deadline))),
                    timeout,
                })),
            }
        })
    }
}

/// A response body that fails with [`TimedOut`] once its deadline passes (none for watches).
pub struct DeadlineBody<B> {
    inner: Pin<Box<B>>,
    deadline: Option<Pin<Box<Sleep>>>,
    timeout: Duration,
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = this.inner.as_mut().poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Some(Err(Box::new(TimedOut(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn only_watch_requests_are_streams() {
        let watch: Uri = "/api/v1/services?labelSelector=a%3Db&watch=true&resourceVersion=1"
            .parse()
            .unwrap();
        let list: Uri = "/api/v1/services?limit=500".parse().unwrap();
        let patch: Uri = "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/embed/status?fieldManager=layer-syncer&force=true".parse().unwrap();
        assert!(is_watch(&watch));
        assert!(!is_watch(&list));
        assert!(!is_watch(&patch));
    }

    #[tokio::test]
    async fn a_client_for_an_https_api_server_builds() {
        // Regression: without a rustls crypto provider (kube's `ring` feature), building the
        // client panicked, so the syncer crashed at startup.
        let mut config = Config::new("https://10.96.0.1:443".parse().unwrap());
        config.default_namespace = "layer".into();
        let client = build(config, Duration::from_secs(30)).unwrap();
        assert_eq!(client.default_namespace(), "layer");
    }

    #[test]
    fn a_timeout_is_recognised_through_the_client_error() {
        let err = kube::Error::Service(Box::new(TimedOut(Duration::from_secs(30))));
        assert!(is_timeout(&err));
        assert_eq!(
            err.to_string(),
            "ServiceError: no answer from the API server within 30s (--api-timeout)"
        );
        let other = kube::Error::Service("connection refused".into());
        assert!(!is_timeout(&other));
    }
}
