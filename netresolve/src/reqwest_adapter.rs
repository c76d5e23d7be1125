//! The [`Resolver`] as reqwest's resolver.

use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::Resolver;

struct ReqwestResolver(Resolver);

impl Resolve for ReqwestResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.0.clone();
        Box::pin(async move {
            let addresses = resolver.lookup(name.as_str(), 0).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// `resolver` for `reqwest::ClientBuilder::dns_resolver` (usually [`Resolver::system`]).
pub fn reqwest_resolver(resolver: Resolver) -> Arc<impl Resolve + 'static> {
    Arc::new(ReqwestResolver(resolver))
}
