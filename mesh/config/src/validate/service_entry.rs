//! The checks of a ServiceEntry: at least one host.

use super::unimplemented;
use crate::diagnostics::Report;
use crate::model::ServiceEntry;

pub(super) fn service_entry(se: &ServiceEntry, report: &mut Report<'_>) {
    if se.hosts.is_empty() {
        report.error("spec.hosts", "at least one host is required");
    }
    unimplemented(report, &se.workload_selector, "spec.workloadSelector");
    unimplemented(report, &se.export_to, "spec.exportTo");
    unimplemented(report, &se.subject_alt_names, "spec.subjectAltNames");
}
