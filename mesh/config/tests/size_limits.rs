//! The size limits of a YAML file: a large real file is well inside them, a huge or deeply
//! nested one is refused at file:line:column with the limit it passed.

use mesh_config::{Diagnostic, Spec, load_file, load_str};

/// A VirtualService with `routes` rules, each matching its own prefix and sending it to a
/// subset: the shape of a large generated file.
fn many_routes(routes: usize) -> String {
    let mut text = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
"
    .to_owned();
    for route in 0..routes {
        text += &format!(
            "    - name: route-{route:05}
      match:
        - uri:
            prefix: /reviews/{route:05}
      route:
        - destination:
            host: reviews
            subset: v{}
",
            route % 3 + 1
        );
    }
    text
}

/// The only diagnostic of a refused file; nothing of it loads.
fn refusal(loaded: &mesh_config::Loaded) -> &Diagnostic {
    assert!(loaded.resources.is_empty());
    match loaded.diagnostics.as_slice() {
        [one] if one.is_error() => one,
        other => panic!("expected one error, got {other:#?}"),
    }
}

#[test]
fn a_virtual_service_with_10000_routes_loads() {
    let text = many_routes(10_000);
    assert!(text.len() > 1_600_000, "{} bytes", text.len());
    let loaded = load_str("routes.yaml", &text);
    assert!(!loaded.has_errors(), "{:#?}", &loaded.diagnostics[..1]);
    let Spec::VirtualService(service) = &loaded.resources[0].spec else {
        panic!("a VirtualService");
    };
    assert_eq!(service.http.len(), 10_000);
}

#[test]
fn a_file_past_8_mib_is_refused_before_it_is_parsed() {
    let text = many_routes(60_000);
    assert!(text.len() > 8 * 1024 * 1024, "{} bytes", text.len());
    let refused = load_str("huge.yaml", &text);
    let refused = refusal(&refused);
    assert_eq!(
        refused.to_string(),
        format!(
            "huge.yaml:1:1: error: YAML over a limit: the file is {} bytes, \
             past the limit of 8388608 bytes",
            text.len()
        )
    );
}

#[test]
fn an_endless_file_is_read_no_further_than_the_limit() {
    // `/dev/zero` never ends: reading it whole would take all memory.
    let loaded = load_file("/dev/zero");
    let refused = refusal(&loaded);
    assert!(
        refused
            .to_string()
            .starts_with("/dev/zero:1:1: error: YAML over a limit: the file is 8388609 bytes"),
        "{refused}"
    );
}

#[test]
fn nesting_past_64_levels_is_refused_at_the_collection_past_the_limit() {
    let nested = |depth: usize| format!("{}{}\n", "[".repeat(depth), "]".repeat(depth));
    // 64 levels are valid YAML (and not a resource).
    let deep = load_str("deep.yaml", &nested(64));
    assert!(
        refusal(&deep)
            .message
            .starts_with("expected a Kubernetes resource"),
        "{deep:?}"
    );
    let too_deep = load_str("deep.yaml", &nested(10_000));
    assert_eq!(
        refusal(&too_deep).to_string(),
        "deep.yaml:1:65: error: YAML over a limit: this collection is nested deeper than \
         the limit of 64 levels"
    );
}
