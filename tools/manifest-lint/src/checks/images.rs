//! Every container runs an image that `docker/` builds (see [`ImagePolicy`]): an image that is
//! not there is an `ErrImagePull` on a cluster, or worse, someone else's image of that name.

use serde_json::Value;

use crate::finding::{Check, Finding};
use crate::images::ImagePolicy;
use crate::inventory::Inventory;

pub fn check(inventory: &Inventory<'_>, policy: &ImagePolicy) -> Vec<Finding> {
    let mut findings = Vec::new();
    for template in &inventory.templates {
        for container in template.containers() {
            let path = container.path("image");
            let message = match container.value.get("image").and_then(Value::as_str) {
                None | Some("") => format!("container {} has no image", container.name),
                Some(image) if !policy.permits(image) => format!(
                    "container {}: image {image} is not one docker/ builds ({}); allow it with \
                     --allow-image or --image-prefix",
                    container.name,
                    policy.repositories().collect::<Vec<_>>().join(", ")
                ),
                Some(_) => continue,
            };
            findings.push(Finding::at(Check::Images, template.owner, &path, message));
        }
    }
    findings
}
