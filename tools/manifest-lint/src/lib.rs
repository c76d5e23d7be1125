//! `manifest-lint`: the checks behind `sailkit lint`, for rendered Kubernetes manifests.
//!
//! `kubectl apply` accepts a great deal that can never work: a Service whose selector has a
//! typo, a `targetPort` no container has, `REVIEWS_HOSTNAME=reviewz`, an image nobody built, a
//! Secret that is not there, a VirtualService subset no DestinationRule defines, a pod that Pod
//! Security Admission will refuse. A cluster shows each of them only at run time, as an empty
//! endpoint list, a 503 or a pod that never starts. These checks read the objects together,
//! as `kubectl kustomize k8s/overlays/mesh` renders them, and name each mistake with its file,
//! line and object:
//!
//! ```text
//! rendered.yaml:120: Service bookinfo/reviews: selector app=reviewz matches no pod template ...
//! ```
//!
//! # Layout
//! - `load`: YAML text (a `---` stream, or a `kind: List`) → [`Object`]s that remember the line
//!   of every field, read with mesh-config's YAML reader.
//! - `object`: one object, its display name (`Kind namespace/name`), and a workload's pod
//!   template and containers.
//! - `inventory`: what the manifests define, indexed for the checks (objects by name, pod
//!   templates, Services and ServiceEntry hosts by their qualified names).
//! - `images`: which images may run ([`ImagePolicy`], from `docker/images.txt`).
//! - `finding`: [`Finding`] and the closed set of [`Check`]s.
//! - `checks`: one file per check: `selectors`, `ports`, `hostnames`, `images`, `references`,
//!   `istio`, `pod_security`.

pub mod checks;
pub mod finding;
pub mod images;
pub mod inventory;
pub mod load;
pub mod object;

pub use finding::{Check, Finding};
pub use images::ImagePolicy;
pub use inventory::Inventory;
pub use load::{LoadError, parse, parse_in};
pub use object::Object;

/// What to check, and which images are allowed.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub images: ImagePolicy,
    /// Checks not to run.
    pub skip: Vec<Check>,
}

/// Runs every check not skipped over `objects` (all files together: a Service in one file
/// may select the pods of a Deployment in another). The findings come in the order of the
/// objects' files, then by line.
pub fn lint(objects: &[Object], options: &Options) -> Vec<Finding> {
    let inventory = Inventory::new(objects);
    let mut findings: Vec<Finding> = Check::ALL
        .into_iter()
        .filter(|check| !options.skip.contains(check))
        .flat_map(|check| checks::run(check, &inventory, &options.images))
        .collect();
    let mut files: Vec<&str> = Vec::new();
    for object in objects {
        if !files.contains(&&*object.file) {
            files.push(&object.file);
        }
    }
    let file_order = |f: &Finding| files.iter().position(|&name| name == &*f.file);
    findings.sort_by_key(|f| (file_order(f), f.line));
    findings
}
