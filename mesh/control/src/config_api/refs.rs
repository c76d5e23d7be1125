//! A `ResourceRef` of a Delete request, checked into the store's key.

use mesh_api::v1::ResourceRef;
use mesh_config::Kind;
use mesh_config::model::DEFAULT_NAMESPACE;
use tonic::Status;

use crate::config_source::store::Key;

/// The keys of `refs`; INVALID_ARGUMENT for an unknown kind or an empty name.
pub fn keys(refs: &[ResourceRef]) -> Result<Vec<Key>, Status> {
    refs.iter().map(key).collect()
}

fn key(reference: &ResourceRef) -> Result<Key, Status> {
    let kind = Kind::from_name(&reference.kind).ok_or_else(|| {
        Status::invalid_argument(format!(
            "unknown kind {:?}: VirtualService, DestinationRule, Gateway or ServiceEntry",
            reference.kind
        ))
    })?;
    if reference.name.is_empty() {
        return Err(Status::invalid_argument(format!(
            "a {} to delete needs a name",
            kind.as_str()
        )));
    }
    let namespace = if reference.namespace.is_empty() {
        DEFAULT_NAMESPACE
    } else {
        &reference.namespace
    };
    Ok((kind, namespace.to_owned(), reference.name.clone()))
}
