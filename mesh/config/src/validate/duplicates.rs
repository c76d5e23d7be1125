//! Duplicate resources: two with the same kind, namespace and name, whichever files hold them.

use std::collections::HashMap;

use super::diagnostic;
use crate::diagnostics::{Diagnostic, Severity};
use crate::model::{Kind, Resource};

/// Duplicate (kind, namespace, name) among `resources`: an error on every copy after the first.
pub fn check_duplicates(resources: &[Resource]) -> Vec<Diagnostic> {
    duplicates(resources, false)
}

fn duplicates(resources: &[Resource], across_files_only: bool) -> Vec<Diagnostic> {
    let mut seen: HashMap<(Kind, &str, &str), &Resource> = HashMap::new();
    let mut out = Vec::new();
    for resource in resources {
        let key = (
            resource.kind(),
            resource.namespace(),
            resource.metadata.name.as_str(),
        );
        if let Some(first) = seen.get(&key) {
            if across_files_only && first.source.file == resource.source.file {
                continue;
            }
            let at = first.source.locate("metadata.name");
            out.push(diagnostic(
                resource,
                Severity::Error,
                "metadata.name",
                format!(
                    "duplicate {} {}/{}: already defined at {}:{}",
                    key.0.as_str(),
                    key.1,
                    key.2,
                    first.source.file,
                    at.line
                ),
            ));
        } else {
            seen.insert(key, resource);
        }
    }
    out
}
