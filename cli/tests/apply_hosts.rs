//! `sailkit apply` warns about routes to hosts that no service of the mesh has, as it warns
//! about subsets that no DestinationRule defines, and applies the files all the same (Istio
//! accepts them too). It checks against the workload registry `sailkit up` writes, and says
//! when there is none to check against.

mod support;

use std::path::{Path, PathBuf};

use support::apply_to;

/// `reviews` to `reviewz`: a typo on line 11, column 13.
const TYPO: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
    - route:
        - destination:
            host: reviewz
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// The registry a stack of Bookinfo's services would have written.
fn write_registry(data_dir: &Path) {
    let mesh = data_dir.join("mesh");
    std::fs::create_dir_all(&mesh).expect("mesh dir");
    let services: Vec<String> = ["productpage", "details", "reviews", "ratings"]
        .iter()
        .map(|name| format!(r#"{{"name": "{name}", "endpoints": []}}"#))
        .collect();
    std::fs::write(
        mesh.join("registry.json"),
        format!(r#"{{"services": [{}]}}"#, services.join(", ")),
    )
    .expect("registry");
}

#[test]
fn a_route_to_a_host_no_service_has_is_applied_with_a_warning() {
    let data = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    write_registry(data.path());
    let typo = write(files.path(), "reviews.yaml", TYPO);
    let applied = apply_to(data.path(), std::slice::from_ref(&typo));
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{applied:?}");
    let expected = format!(
        "{}:11:13: warning: spec.http[0].route[0].destination.host: no service has host \
         reviewz.default.svc.cluster.local",
        typo.display()
    );
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(stdout.contains("no stack is running"), "{stdout}");
    assert!(
        data.path().join("mesh/config/reviews.yaml").exists(),
        "applied all the same"
    );

    // The right host: no warning.
    let fixed = write(
        files.path(),
        "reviews.yaml",
        &TYPO.replace("reviewz", "reviews"),
    );
    let applied = apply_to(data.path(), &[fixed]);
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{applied:?}");
    assert!(!stdout.contains("warning"), "{stdout}");
}

#[test]
fn without_a_registry_hosts_are_said_to_be_unchecked() {
    let data = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let typo = write(files.path(), "reviews.yaml", TYPO);
    let applied = apply_to(data.path(), &[typo]);
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{applied:?}");
    assert!(stdout.contains("hosts not checked"), "{stdout}");
    assert!(!stdout.contains("warning"), "{stdout}");
}
