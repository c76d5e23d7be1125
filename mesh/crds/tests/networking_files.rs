//! Every Istio file of `k8s/networking/` (Bookinfo's routing, the mutual-TLS rules too) is
//! accepted by the CRD of its kind, field by field, and reads as the typed kube object; broken
//! objects are refused with their name and the field path.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use mesh_crds::{DestinationRule, Gateway, ServiceEntry, VirtualService, validate};
use serde_json::{Value, json};

fn documents(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).expect("read a networking file");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    documents.into_iter().filter(|doc| !doc.is_null()).collect()
}

/// Read `object` as the typed kube object of its kind, and check that its spec serializes back
/// as it was written. Returns the deserialization error, if any.
fn read_typed(object: &Value) -> Result<(), String> {
    fn typed<K: serde::de::DeserializeOwned + serde::Serialize>(
        object: &Value,
    ) -> Result<(), String> {
        let read: K = serde_json::from_value(object.clone()).map_err(|error| error.to_string())?;
        let written = serde_json::to_value(&read).expect("serialize");
        assert_eq!(
            written["spec"], object["spec"],
            "the spec serializes back as written"
        );
        assert_eq!(written["metadata"]["name"], object["metadata"]["name"]);
        Ok(())
    }
    match object["kind"].as_str() {
        Some("VirtualService") => typed::<VirtualService>(object),
        Some("DestinationRule") => typed::<DestinationRule>(object),
        Some("Gateway") => typed::<Gateway>(object),
        Some("ServiceEntry") => typed::<ServiceEntry>(object),
        other => Err(format!("not a kind of ours: {other:?}")),
    }
}

fn crds() -> Vec<CustomResourceDefinition> {
    mesh_crds::crds()
}

#[test]
fn every_networking_file_fits_the_crd_of_its_kind_in_every_served_version() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../k8s/networking");
    let crds = crds();
    let (mut objects, mut kinds, mut files) = (0, BTreeSet::new(), 0);
    for entry in fs::read_dir(&dir).expect("read k8s/networking") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|ext| ext != "yaml") {
            continue;
        }
        files += 1;
        for mut object in documents(&path) {
            let file = path.display();
            for version in ["v1", "v1beta1", "v1alpha3"] {
                object["apiVersion"] = json!(format!("networking.istio.io/{version}"));
                let errors = validate::object(&object, &crds);
                assert!(errors.is_empty(), "{file}: {errors:#?}");
            }
            read_typed(&object).unwrap_or_else(|error| panic!("{file}: {error}"));
            kinds.insert(object["kind"].as_str().unwrap_or_default().to_owned());
            objects += 1;
        }
    }
    assert!(
        files >= 27 && objects >= 40,
        "{files} files, {objects} objects"
    );
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "DestinationRule",
            "Gateway",
            "ServiceEntry",
            "VirtualService"
        ]
    );
}

fn reviews(http: Value) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews-broken", "namespace": "bookinfo"},
        "spec": {"hosts": ["reviews"], "http": [http]},
    })
}

#[test]
fn a_wrong_type_is_refused_with_the_object_and_the_field_path() {
    let object = reviews(json!({"route": [{"destination": {"host": "reviews"}}], "timeout": 5}));
    let errors = validate::object(&object, &crds());
    assert_eq!(
        errors,
        ["VirtualService bookinfo/reviews-broken: spec.http[0].timeout: expected string, found 5"]
    );
    let error = read_typed(&object).expect_err("the typed object refuses it too");
    assert!(error.contains("http[0].timeout"), "{error}");
}

#[test]
fn an_unknown_field_where_the_schema_is_closed_is_refused() {
    let object = reviews(json!({"route": [{"destination": {"host": "reviews"}, "wieght": 50}]}));
    let errors = validate::object(&object, &crds());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "VirtualService bookinfo/reviews-broken: spec.http[0].route[0].wieght: unknown field"
        ),
        "{errors:#?}"
    );
    assert!(
        errors[0].contains("weight"),
        "the known fields are listed: {errors:#?}"
    );
    let error = read_typed(&object).expect_err("the typed object refuses it too");
    assert!(
        error.contains("http[0].route[0]") && error.contains("wieght"),
        "{error}"
    );
}

#[test]
fn enums_bounds_and_required_fields_are_checked() {
    let object = json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "DestinationRule",
        "metadata": {"name": "ratings"},
        "spec": {
            "trafficPolicy": {
                "loadBalancer": {"simple": "ROUND_ROBBIN"},
                "connectionPool": {"tcp": {"maxConnections": -1}},
            },
            "subsets": [{"name": "v1", "labels": {"version": 1}}],
        },
    });
    let errors = validate::object(&object, &crds());
    let expected = [
        "spec.subsets[0].labels.version: expected string, found 1",
        "spec.trafficPolicy.connectionPool.tcp.maxConnections: -1 is below the minimum 0",
        "spec.trafficPolicy.loadBalancer.simple: \"ROUND_ROBBIN\" is not one of",
        "spec.host: missing required field",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for expected in expected {
        let expected = format!("DestinationRule default/ratings: {expected}");
        assert!(
            errors.iter().any(|error| error.starts_with(&expected)),
            "{expected}: {errors:#?}"
        );
    }
}

#[test]
fn an_unimplemented_istio_field_is_stored_as_written_whatever_its_shape() {
    let object = reviews(json!({
        "route": [{"destination": {"host": "reviews"}}],
        "corsPolicy": {"allowOrigins": [{"exact": "https://example.com"}], "maxAge": "24h"},
        "mirrors": [{"destination": {"host": "reviews", "subset": "v2"}}],
    }));
    assert_eq!(validate::object(&object, &crds()), Vec::<String>::new());
    read_typed(&object).expect("the typed object keeps it");
}

#[test]
fn a_kind_or_version_we_do_not_define_is_refused() {
    let mut object = reviews(json!({"route": [{"destination": {"host": "reviews"}}]}));
    object["apiVersion"] = json!("networking.istio.io/v2");
    assert_eq!(
        validate::object(&object, &crds()),
        ["VirtualService bookinfo/reviews-broken: version v2 is not served"]
    );
    object["kind"] = json!("Sidecar");
    assert_eq!(
        validate::object(&object, &crds()),
        ["Sidecar bookinfo/reviews-broken: no CRD for networking.istio.io/v2 Sidecar"]
    );
}
