//! What the manifests define, indexed for the checks: the objects by kind and name, the pod
//! templates, and the names a host can resolve to (Services, ServiceEntry hosts).

use std::collections::{BTreeSet, HashMap};

use mesh_config::host;
use serde_json::Value;

use crate::object::{Labels, Object, PodTemplate, get, items, to_labels};

/// The API group of Istio's networking kinds.
pub const ISTIO_NETWORKING: &str = "networking.istio.io";

pub struct Inventory<'a> {
    pub objects: &'a [Object],
    /// (kind, namespace, name) → the object.
    by_name: HashMap<(&'a str, &'a str, &'a str), &'a Object>,
    pub templates: Vec<PodTemplate<'a>>,
    /// Every Service, by its fully qualified name (`reviews.bookinfo.svc.cluster.local`).
    services: HashMap<String, &'a Object>,
    /// Every ServiceEntry host, qualified as Istio does (`*.example.com` stays a wildcard).
    service_entry_hosts: Vec<String>,
    /// Every namespace an object is in or a Namespace object names.
    pub namespaces: BTreeSet<&'a str>,
}

impl<'a> Inventory<'a> {
    pub fn new(objects: &'a [Object]) -> Self {
        let mut inventory = Inventory {
            objects,
            by_name: HashMap::new(),
            templates: objects.iter().filter_map(Object::pod_template).collect(),
            services: HashMap::new(),
            service_entry_hosts: Vec::new(),
            namespaces: BTreeSet::new(),
        };
        for object in objects {
            inventory
                .by_name
                .insert((&object.kind, &object.namespace, &object.name), object);
            inventory.namespaces.insert(&object.namespace);
            if object.is("Namespace") {
                inventory.namespaces.insert(&object.name);
            }
            if object.is("Service") {
                let fqdn = host::qualify(&object.name, &object.namespace);
                inventory.services.insert(fqdn, object);
            }
            if object.is("ServiceEntry") && object.group() == ISTIO_NETWORKING {
                for written in items(get(&object.value, "spec.hosts")) {
                    if let Some(written) = written.as_str() {
                        let qualified = host::qualify(written, &object.namespace);
                        inventory.service_entry_hosts.push(qualified);
                    }
                }
            }
        }
        inventory
    }

    /// The object of that kind, namespace and name, if the manifests define it.
    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a Object> {
        self.by_name.get(&(kind, namespace, name)).copied()
    }

    /// The objects of a kind (and API group), in the order they were written.
    pub fn of_kind(&self, group: &'a str, kind: &'a str) -> impl Iterator<Item = &'a Object> {
        self.objects
            .iter()
            .filter(move |o| o.is(kind) && o.group() == group)
    }

    /// The pod templates in `namespace` whose labels hold every pair of `selector`.
    pub fn selected(&self, namespace: &str, selector: &Labels) -> Vec<&PodTemplate<'a>> {
        self.templates
            .iter()
            .filter(|t| t.owner.namespace == namespace && t.selected_by(selector))
            .collect()
    }

    /// The Service of that fully qualified name.
    pub fn service(&self, fqdn: &str) -> Option<&'a Object> {
        self.services.get(fqdn).copied()
    }

    /// Whether a ServiceEntry declares `fqdn` (exactly or by a wildcard).
    pub fn service_entry_has(&self, fqdn: &str) -> bool {
        self.service_entry_hosts
            .iter()
            .any(|pattern| host::match_score(pattern, fqdn).is_some())
    }
}

/// A Service's `spec.selector` (empty when it has none).
pub fn service_selector(service: &Object) -> Labels {
    to_labels(get(&service.value, "spec.selector").unwrap_or(&Value::Null))
}
