//! What a change did, printed: the same lines whether the control plane made it or the
//! command changed the folder itself, since both answer with the protocol's `ChangeResponse`.

use std::path::Path;

use mesh_api::v1::file_change::Action;
use mesh_api::v1::{ChangeResponse, ListedResource};

/// Which command made the change: it names what happened to the files it took resources from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Apply,
    Delete,
}

impl Verb {
    fn past(self) -> &'static str {
        match self {
            Verb::Apply => "replaced",
            Verb::Delete => "deleted",
        }
    }
}

/// Prints the diagnostics, then what was done to each file of `folder` (the config folder as
/// the reader names it); an error when the change was refused.
pub fn print_change(response: &ChangeResponse, verb: Verb, folder: &Path) -> Result<(), String> {
    // A diagnostic of a file in force names it as the control plane does (its folder may be
    // an absolute path, or one inside a container): named here as the reader names it.
    let in_store = format!("{}/", response.store);
    for diagnostic in &response.diagnostics {
        match diagnostic.strip_prefix(&in_store) {
            Some(rest) if !response.store.is_empty() => {
                println!("{}/{rest}", folder.display());
            }
            _ => println!("{diagnostic}"),
        }
    }
    if !response.applied {
        return Err(format!(
            "nothing {}: the configuration in force in {} is unchanged",
            match verb {
                Verb::Apply => "applied",
                Verb::Delete => "deleted",
            },
            folder.display()
        ));
    }
    for change in &response.changes {
        let resources = change.resources.join(", ");
        match change.action() {
            Action::Written => println!(
                "applied {} ({})",
                change.file,
                if resources.is_empty() {
                    "no resources"
                } else {
                    &resources
                }
            ),
            Action::Removed if verb == Verb::Apply => {
                println!("removed {} (replaced)", folder.join(&change.file).display());
            }
            Action::Removed => println!(
                "removed {} (deleted: {resources})",
                folder.join(&change.file).display()
            ),
            Action::Unspecified => println!("changed {}", folder.join(&change.file).display()),
            Action::Trimmed => println!(
                "updated {} ({}: {resources}; the rest stays)",
                folder.join(&change.file).display(),
                verb.past()
            ),
        }
    }
    Ok(())
}

/// `apply --list`: one resource a line, with its file in `folder`.
pub fn print_list(resources: &[ListedResource], folder: &Path) {
    if resources.is_empty() {
        println!(
            "no mesh config in {}: default routing (round robin over every instance)",
            folder.display()
        );
    }
    for resource in resources {
        println!(
            "{:<16} {:<24} {}",
            resource.kind,
            format!("{}/{}", resource.namespace, resource.name),
            folder.join(&resource.file).display()
        );
    }
}
