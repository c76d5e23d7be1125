//! Label sets as small numbers: a request carries the id of its peer's [`WorkloadLabels`] and
//! of its [`ServiceLabels`], two `u32`s, instead of a dozen strings.
//!
//! Ids are given when a registry or a snapshot is loaded (off the request path), the same one
//! to equal label sets, and never taken back, so an id stays valid for the process's life and
//! a new snapshot with the same workloads keeps their ids (and so their series). They are
//! process-wide, like interned strings: two proxies in one process (tests) share them, which
//! changes nothing since an id only stands for its values. What is kept grows with the
//! distinct label sets ever seen: workloads and services, not instances or requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::labels::{ServiceLabels, WorkloadLabels};

/// A [`WorkloadLabels`] by number; [`WorkloadId::UNKNOWN`] is every value `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WorkloadId(u32);

/// A [`ServiceLabels`] by number; [`ServiceId::UNKNOWN`] is every value `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceId(u32);

impl WorkloadId {
    pub const UNKNOWN: WorkloadId = WorkloadId(0);
}

impl ServiceId {
    pub const UNKNOWN: ServiceId = ServiceId(0);
}

/// One kind of label set, by value and by id (id 0: the unknown one).
struct Table<T> {
    ids: HashMap<T, u32>,
    values: Vec<Arc<T>>,
}

impl<T: Clone + Eq + std::hash::Hash> Table<T> {
    fn new(unknown: T) -> Table<T> {
        Table {
            ids: HashMap::from([(unknown.clone(), 0)]),
            values: vec![Arc::new(unknown)],
        }
    }

    fn id(&mut self, value: T) -> u32 {
        if let Some(id) = self.ids.get(&value) {
            return *id;
        }
        // More than four billion label sets cannot be: a process has not the memory.
        let id = u32::try_from(self.values.len()).unwrap_or(0);
        self.values.push(Arc::new(value.clone()));
        self.ids.insert(value, id);
        id
    }

    fn get(&self, id: u32) -> Arc<T> {
        let index = usize::try_from(id).unwrap_or(0);
        Arc::clone(self.values.get(index).unwrap_or(&self.values[0]))
    }
}

struct Interned {
    workloads: Table<WorkloadLabels>,
    services: Table<ServiceLabels>,
}

fn interned() -> std::sync::MutexGuard<'static, Interned> {
    static INTERNED: OnceLock<Mutex<Interned>> = OnceLock::new();
    INTERNED
        .get_or_init(|| {
            Mutex::new(Interned {
                workloads: Table::new(WorkloadLabels::unknown()),
                services: Table::new(ServiceLabels::unknown()),
            })
        })
        .lock()
        // Every change above leaves the tables whole.
        .unwrap_or_else(PoisonError::into_inner)
}

/// The id of `labels` (the same for equal labels).
pub fn workload(labels: WorkloadLabels) -> WorkloadId {
    WorkloadId(interned().workloads.id(labels))
}

/// The id of `labels` (the same for equal labels).
pub fn service(labels: ServiceLabels) -> ServiceId {
    ServiceId(interned().services.id(labels))
}

/// The labels of an id.
pub fn workload_labels(id: WorkloadId) -> Arc<WorkloadLabels> {
    interned().workloads.get(id.0)
}

/// The labels of an id.
pub fn service_labels(id: ServiceId) -> Arc<ServiceLabels> {
    interned().services.get(id.0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn equal_labels_have_one_id_and_unknown_is_zero() {
        let reviews = || WorkloadLabels::new("reviews-v2", "default", "K", &BTreeMap::new());
        let id = workload(reviews());
        assert_eq!(workload(reviews()), id);
        assert_ne!(id, WorkloadId::UNKNOWN);
        assert_eq!(*workload_labels(id), reviews());
        assert_eq!(workload(WorkloadLabels::unknown()), WorkloadId::UNKNOWN);
        assert_eq!(service(ServiceLabels::unknown()), ServiceId::UNKNOWN);
    }
}
