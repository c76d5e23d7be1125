//! Each check over `fixtures/clean.yaml` with one mistake put in: the check finds it, and its
//! message names the file, the line of the mistake and the object. The clean manifest itself
//! passes every check.

use manifest_lint::{Check, ImagePolicy, Options, lint, parse};

const CLEAN: &str = include_str!("fixtures/clean.yaml");
/// The real list the images check reads, as `sailkit lint` does in the repository.
const IMAGES_TXT: &str = include_str!("../../../docker/images.txt");

fn options() -> Options {
    Options {
        images: ImagePolicy::from_images_txt(IMAGES_TXT, &["sailkit".into()]),
        skip: Vec::new(),
    }
}

/// The clean manifest with each `from` (written there exactly once) replaced by its `to`.
fn broken(changes: &[(&str, &str)]) -> String {
    let mut text = CLEAN.to_owned();
    for (from, to) in changes {
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` once in the fixture"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

/// The 1-based line where `needle` (written there exactly once) starts.
fn line_of(text: &str, needle: &str) -> usize {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "`{needle}` once in the text"
    );
    let at = text.find(needle).expect("there");
    text[..at].matches('\n').count() + 1
}

/// The findings of `check` over `text`, read as the file `file`, as printed.
fn findings(check: Check, file: &str, text: &str, options: &Options) -> Vec<String> {
    let objects = parse(file, text).expect("valid YAML");
    lint(&objects, options)
        .into_iter()
        .filter(|f| f.check == check)
        .map(|f| f.to_string())
        .collect()
}

#[test]
fn the_clean_manifest_passes_every_check() {
    let objects = parse("clean.yaml", CLEAN).expect("valid YAML");
    assert_eq!(objects.len(), 12, "11 documents, one a List of two");
    let all: Vec<String> = lint(&objects, &options())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(all.is_empty(), "{all:#?}");
}

#[test]
fn a_selector_that_matches_no_pod_template() {
    let text = broken(&[(
        "  selector:\n    app: reviews\n",
        "  selector:\n    app: reviewz\n",
    )]);
    let line = line_of(&text, "    app: reviewz") - 1;
    assert_eq!(
        findings(Check::Selectors, "selectors.yaml", &text, &options()),
        [format!(
            "selectors.yaml:{line}: Service bookinfo/reviews: selector app=reviewz matches no \
             pod template in namespace bookinfo"
        )]
    );
}

#[test]
fn a_target_port_no_selected_container_declares() {
    // By name: the container's port is renamed.
    let text = broken(&[(
        "- name: http\n              containerPort: 9080",
        "- name: web\n              containerPort: 9080",
    )]);
    assert_eq!(
        findings(Check::Ports, "ports.yaml", &text, &options()),
        [format!(
            "ports.yaml:{}: Service bookinfo/reviews: port http targets the port named http, \
             which no container of Deployment bookinfo/reviews-v1 declares (its ports: web 9080)",
            line_of(&text, "targetPort: http")
        )]
    );
    // By number: ratings has no targetPort, so its port 9080 is the target.
    let text = broken(&[(
        "            - containerPort: 9080",
        "            - containerPort: 9081",
    )]);
    let service_port = line_of(&text, "    - name: http\n      port: 9080\n---");
    assert_eq!(
        findings(Check::Ports, "ports.yaml", &text, &options()),
        [format!(
            "ports.yaml:{service_port}: Service bookinfo/ratings: port http targets container \
             port 9080, which no container of Deployment bookinfo/ratings-v2 declares (its \
             ports: 9081)"
        )]
    );
}

#[test]
fn peer_host_names_that_are_no_service() {
    let text = broken(&[
        ("value: ratings\n", "value: ratingz\n"),
        ("@postgres.bookinfo.svc", "@postgress.bookinfo.svc"),
        (
            "http://reviews.bookinfo:9080",
            "http://reviewz.bookinfo:9080",
        ),
    ]);
    assert_eq!(
        findings(Check::Hostnames, "hosts.yaml", &text, &options()),
        [
            format!(
                "hosts.yaml:{}: Deployment bookinfo/reviews-v1: container reviews: env \
                 RATINGS_HOSTNAME names host ratingz, which is no Service of the manifests \
                 (looked for ratingz.bookinfo.svc.cluster.local)",
                line_of(&text, "value: ratingz")
            ),
            format!(
                "hosts.yaml:{}: Deployment bookinfo/ratings-v2: container ratings: a URL in \
                 args[1] names host reviewz.bookinfo, which is no Service of the manifests \
                 (looked for reviewz.bookinfo.svc.cluster.local)",
                line_of(&text, "args:")
            ),
            format!(
                "hosts.yaml:{}: Deployment bookinfo/ratings-v2: container ratings: the URL in \
                 env DATABASE_URL names host postgress.bookinfo.svc.cluster.local, which is no \
                 Service of the manifests (looked for postgress.bookinfo.svc.cluster.local)",
                line_of(&text, "value: postgres://")
            ),
        ]
    );
}

#[test]
fn peer_ports_their_service_does_not_have() {
    let text = broken(&[
        (":5432/ratings", ":5433/ratings"),
        (
            "              value: ratings\n",
            "              value: ratings\n            - name: RATINGS_SERVICE_PORT\n              value: \"9081\"\n",
        ),
    ]);
    assert_eq!(
        findings(Check::Hostnames, "ports.yaml", &text, &options()),
        [
            format!(
                "ports.yaml:{}: Deployment bookinfo/reviews-v1: container reviews: env \
                 RATINGS_HOSTNAME names port 9081 of Service bookinfo/ratings, which has port 9080",
                line_of(&text, "value: ratings\n")
            ),
            format!(
                "ports.yaml:{}: Deployment bookinfo/ratings-v2: container ratings: the URL in env \
                 DATABASE_URL names port 5433 of Service bookinfo/postgres, which has port 5432",
                line_of(&text, "value: postgres://")
            ),
        ]
    );
}

#[test]
fn peer_host_names_read_from_a_config_map() {
    // reviews-v1 reads the ConfigMap with envFrom: the finding is on the Deployment, at its
    // envFrom, and says where the value was written.
    let text = broken(&[(
        "  SERVICES_PORT: \"9080\"\n",
        "  SERVICES_PORT: \"9080\"\n  DETAILS_HOSTNAME: detailz\n",
    )]);
    assert_eq!(
        findings(Check::Hostnames, "hosts.yaml", &text, &options()),
        [format!(
            "hosts.yaml:{}: Deployment bookinfo/reviews-v1: container reviews: env \
             DETAILS_HOSTNAME (from ConfigMap bookinfo/bookinfo-config-7h2k9g, line {}) names \
             host detailz, which is no Service of the manifests (looked for \
             detailz.bookinfo.svc.cluster.local)",
            line_of(&text, "- configMapRef:"),
            line_of(&text, "DETAILS_HOSTNAME: detailz"),
        )]
    );
}

#[test]
fn names_outside_the_cluster_and_services_domain_are_resolved_as_the_pod_would() {
    // An external name, and a one-dot name whose second label is no namespace: not the cluster's.
    // With SERVICES_DOMAIN, productpage-style `<host>.<domain>`.
    let text = broken(&[
        (
            "http://reviews.bookinfo:9080",
            "https://api.example.com/x http://example.org",
        ),
        (
            "            - name: RATINGS_HOSTNAME\n",
            "            - name: SERVICES_DOMAIN\n              value: bookinfo.svc\n            - name: RATINGS_HOSTNAME\n",
        ),
    ]);
    assert_eq!(
        findings(Check::Hostnames, "hosts.yaml", &text, &options()),
        Vec::<String>::new()
    );
    let text = broken(&[(
        "            - name: RATINGS_HOSTNAME\n",
        "            - name: SERVICES_DOMAIN\n              value: elsewhere.svc\n            - name: RATINGS_HOSTNAME\n",
    )]);
    let found = findings(Check::Hostnames, "hosts.yaml", &text, &options());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("names host ratings.elsewhere.svc,"),
        "{found:?}"
    );
}

#[test]
fn an_image_docker_does_not_build_unless_allowed() {
    let text = broken(&[("sailkit/reviews:dev", "sailkit/reviewz:dev")]);
    let found = findings(Check::Images, "images.yaml", &text, &options());
    assert_eq!(found.len(), 1, "{found:?}");
    let expected = format!(
        "images.yaml:{}: Deployment bookinfo/reviews-v1: container reviews: image \
         sailkit/reviewz:dev is not one docker/ builds (sailkit/banner, sailkit/cli, ",
        line_of(&text, "image: sailkit/reviewz")
    );
    assert!(found[0].starts_with(&expected), "{}", found[0]);
    // A user who pushed the images elsewhere, or runs one image of their own, says so.
    let mut allowed = options();
    allowed.images.allow("sailkit/reviewz");
    assert!(findings(Check::Images, "images.yaml", &text, &allowed).is_empty());
    let moved = broken(&[
        ("sailkit/reviews:dev", "ghcr.io/me/reviews:v2"),
        ("sailkit/ratings:dev", "ghcr.io/me/ratings:v2"),
        ("sailkit/postgres:15", "ghcr.io/me/postgres:15"),
    ]);
    let prefixed = Options {
        images: ImagePolicy::from_images_txt(IMAGES_TXT, &["ghcr.io/me".into()]),
        skip: Vec::new(),
    };
    assert!(findings(Check::Images, "images.yaml", &moved, &prefixed).is_empty());
    assert_eq!(
        findings(Check::Images, "images.yaml", &moved, &options()).len(),
        3
    );
}

#[test]
fn service_accounts_config_maps_and_secrets_that_are_not_there() {
    let text = broken(&[
        (
            "serviceAccountName: bookinfo-reviews",
            "serviceAccountName: bookinfo-reviewz",
        ),
        (
            "                name: bookinfo-config-7h2k9g",
            "                name: bookinfo-config",
        ),
        ("key: password", "key: passwd"),
    ]);
    assert_eq!(
        findings(Check::References, "refs.yaml", &text, &options()),
        [
            format!(
                "refs.yaml:{}: Deployment bookinfo/reviews-v1: serviceAccountName names \
                 ServiceAccount bookinfo-reviewz, which is not in the manifests (namespace bookinfo)",
                line_of(&text, "serviceAccountName:")
            ),
            format!(
                "refs.yaml:{}: Deployment bookinfo/reviews-v1: container reviews names ConfigMap \
                 bookinfo-config, which is not in the manifests (namespace bookinfo)",
                line_of(&text, "- configMapRef:")
            ),
            format!(
                "refs.yaml:{}: Deployment bookinfo/ratings-v2: container ratings, env \
                 DATABASE_PASSWORD, reads key passwd of Secret ratings-db-5f8m2c, which has no \
                 such key",
                line_of(&text, "valueFrom:")
            ),
        ]
    );
}

#[test]
fn virtual_service_hosts_and_subsets_that_are_not_there() {
    // Subset v2 is not defined: the line is inside the List's item.
    let text = broken(&[("                subset: v1", "                subset: v2")]);
    assert_eq!(
        findings(Check::Istio, "istio.yaml", &text, &options()),
        [format!(
            "istio.yaml:{}: VirtualService bookinfo/reviews: subset v2 of reviews is not defined \
             by DestinationRule bookinfo/reviews (its subsets: v1)",
            line_of(&text, "subset: v2")
        )]
    );
    // Defined, but its labels select no pod of the Service.
    let text = broken(&[("            version: v1\n", "            version: v9\n")]);
    assert_eq!(
        findings(Check::Istio, "istio.yaml", &text, &options()),
        [format!(
            "istio.yaml:{}: VirtualService bookinfo/reviews: subset v1 of reviews (labels \
             version=v9) selects no pod template of Service bookinfo/reviews",
            line_of(&text, "subset: v1")
        )]
    );
    // Hosts that are no Service.
    let text = broken(&[
        ("        - reviews\n", "        - reviewz\n"),
        (
            "                host: reviews\n",
            "                host: reviews.other.svc.cluster.local\n",
        ),
    ]);
    assert_eq!(
        findings(Check::Istio, "istio.yaml", &text, &options()),
        [
            format!(
                "istio.yaml:{}: VirtualService bookinfo/reviews: host reviewz \
                 (reviewz.bookinfo.svc.cluster.local) is neither a Service nor a ServiceEntry \
                 host of the manifests",
                line_of(&text, "- reviewz")
            ),
            format!(
                "istio.yaml:{}: VirtualService bookinfo/reviews: host \
                 reviews.other.svc.cluster.local (reviews.other.svc.cluster.local) is neither a \
                 Service nor a ServiceEntry host of the manifests",
                line_of(&text, "host: reviews.other")
            ),
        ]
    );
}

#[test]
fn pods_that_pod_security_restricted_would_refuse() {
    let text = broken(&[
        (
            "            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [ALL]\n",
            "            capabilities:\n              add: [NET_ADMIN]\n",
        ),
        ("          emptyDir: {}", "          hostPath: {path: /tmp}"),
        (
            "      securityContext:\n        runAsNonRoot: true\n        seccompProfile:\n          type: RuntimeDefault\n",
            "      hostNetwork: true\n",
        ),
    ]);
    let at = |needle| line_of(&text, needle);
    let object = "Deployment bookinfo/reviews-v1";
    let restricted = "(Pod Security restricted)";
    assert_eq!(
        findings(Check::PodSecurity, "psa.yaml", &text, &options()),
        [
            format!(
                "psa.yaml:{}: {object}: hostNetwork must not be true {restricted}",
                at("hostNetwork")
            ),
            format!(
                "psa.yaml:{}: {object}: container reviews: allowPrivilegeEscalation must be \
                 false {restricted}",
                at("add: [NET_ADMIN]") - 2
            ),
            format!(
                "psa.yaml:{}: {object}: container reviews: runAsNonRoot must be true (in the \
                 container's or the pod's securityContext) {restricted}",
                at("add: [NET_ADMIN]") - 2
            ),
            format!(
                "psa.yaml:{}: {object}: container reviews: seccompProfile must be RuntimeDefault \
                 or Localhost (in the container's or the pod's securityContext) {restricted}",
                at("add: [NET_ADMIN]") - 2
            ),
            format!(
                "psa.yaml:{}: {object}: container reviews: readOnlyRootFilesystem must be true; \
                 write to an emptyDir volume (sailkit's rule)",
                at("add: [NET_ADMIN]") - 2
            ),
            format!(
                "psa.yaml:{}: {object}: container reviews: capabilities must drop ALL {restricted}",
                at("add: [NET_ADMIN]") - 1
            ),
            format!(
                "psa.yaml:{}: {object}: container reviews: capability NET_ADMIN may not be added \
                 (only NET_BIND_SERVICE) {restricted}",
                at("add: [NET_ADMIN]")
            ),
            format!(
                "psa.yaml:{}: {object}: volume tmp is of type hostPath, which is not allowed \
                 {restricted}",
                at("hostPath:")
            ),
        ]
    );
}

#[test]
fn skipped_checks_do_not_run() {
    let text = broken(&[("sailkit/reviews:dev", "redis:7")]);
    let objects = parse("skip.yaml", &text).expect("valid");
    assert_eq!(lint(&objects, &options()).len(), 1);
    let skip = Options {
        skip: vec![Check::Images],
        ..options()
    };
    assert!(lint(&objects, &skip).is_empty());
}

#[test]
fn role_bindings_and_autoscalers_name_what_is_there() {
    let extra = "\
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reviews-reads
  namespace: bookinfo
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
  - kind: ServiceAccount
    name: bookinfo-reviewz
  - kind: ServiceAccount
    name: istiod
    namespace: istio-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: reviews-views
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
  - kind: ServiceAccount
    name: bookinfo-reviews
    namespace: bookinfo
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: reviews
  namespace: bookinfo
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: reviews-v9
  minReplicas: 1
  maxReplicas: 3
";
    let text = format!("{CLEAN}{extra}");
    // The Role is not there, nor the first subject; istio-system is not the manifests' own
    // namespace, and `view` is in every cluster.
    assert_eq!(
        findings(Check::References, "rbac.yaml", &text, &options()),
        [
            format!(
                "rbac.yaml:{}: RoleBinding bookinfo/reviews-reads: roleRef names Role reader, \
                 which is not in the manifests (namespace bookinfo)",
                line_of(
                    &text,
                    "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n"
                )
            ),
            format!(
                "rbac.yaml:{}: RoleBinding bookinfo/reviews-reads: a subject names \
                 ServiceAccount bookinfo-reviewz, which is not in the manifests (namespace \
                 bookinfo)",
                line_of(&text, "- kind: ServiceAccount\n    name: bookinfo-reviewz")
            ),
            format!(
                "rbac.yaml:{}: HorizontalPodAutoscaler bookinfo/reviews: scaleTargetRef names \
                 Deployment reviews-v9, which is not in the manifests (namespace bookinfo)",
                line_of(&text, "scaleTargetRef:")
            ),
        ]
    );
}

#[test]
fn a_native_sidecar_serves_ports_and_an_init_container_does_not() {
    let as_init = |policy: &str| {
        broken(&[(
            "      containers:\n        - name: reviews\n",
            &format!("      initContainers:\n        - name: reviews\n{policy}"),
        )])
    };
    let sidecar = as_init("          restartPolicy: Always\n");
    assert!(findings(Check::Ports, "ports.yaml", &sidecar, &options()).is_empty());
    let exited = as_init("");
    let found = findings(Check::Ports, "ports.yaml", &exited, &options());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("(its ports: none)"), "{found:?}");
}
