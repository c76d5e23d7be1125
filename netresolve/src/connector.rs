//! The [`Resolver`] as hyper-util's resolver, for hyper clients and tonic channels.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;

use crate::{ResolveError, Resolver};

/// A [`Resolver`] in the shape hyper-util's `HttpConnector` asks for.
#[derive(Clone)]
pub struct HyperResolver(pub Resolver);

impl tower::Service<Name> for HyperResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ResolveError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ResolveError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ResolveError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let resolver = self.0.clone();
        // The connector sets the URL's port on every address afterwards.
        Box::pin(async move { Ok(resolver.lookup(name.as_str(), 0).await?.into_iter()) })
    }
}

/// A plain-TCP connector (no TLS: the mesh's gRPC is h2c) that resolves with `resolver`:
/// give it to `tonic::transport::Endpoint::connect_with_connector`.
pub fn http_connector(resolver: Resolver) -> HttpConnector<HyperResolver> {
    let mut connector = HttpConnector::new_with_resolver(HyperResolver(resolver));
    connector.set_nodelay(true);
    connector.enforce_http(false);
    connector
}
