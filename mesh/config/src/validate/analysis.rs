//! The whole analysis of a set of files, `istioctl analyze`'s part ([`analyze`]): what loading
//! found, then every check across resources, each finding tagged with the code Istio's analyzer
//! gives the same problem ([`Code`]), and the resource it is about.
//!
//! The severity is sailkit's own, the one `sailkit apply` gives: a reference to something that
//! does not exist is a warning here (Istio's webhook accepts it, and files are often applied one
//! by one), where istioctl rates IST0101 an error.

use std::fmt;

use super::{
    check_duplicates_across_files, check_gateway_hosts, check_gateway_refs, check_hosts,
    check_ineffective_matches, check_subset_labels, check_subsets, check_unreachable_rules,
    workloads::Workload,
};
use crate::diagnostics::{Diagnostic, Severity};
use crate::load::Loaded;
use crate::model::Resource;

/// Istio's analysis message codes, for the problems sailkit finds (`IST0101` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// IST0101: a host, a host's subset or a gateway that a resource names does not exist.
    ReferencedResourceNotFound,
    /// IST0106: the resource is malformed, or means something Istio refuses.
    SchemaValidationError,
    /// IST0127: no workload has the labels a resource selects.
    NoMatchingWorkloadsFound,
    /// IST0130: a VirtualService rule no request can reach.
    VirtualServiceUnreachableRule,
    /// IST0131: a match entry that an earlier rule already has.
    VirtualServiceIneffectiveMatch,
    /// IST0132: a VirtualService bound to a Gateway that lists none of its hosts.
    VirtualServiceHostNotFoundInGateway,
    /// IST0133: valid, but with something to know (here: a field sailkit does not implement).
    SchemaWarning,
}

impl Code {
    /// `IST0101`.
    pub fn id(self) -> &'static str {
        match self {
            Code::ReferencedResourceNotFound => "IST0101",
            Code::SchemaValidationError => "IST0106",
            Code::NoMatchingWorkloadsFound => "IST0127",
            Code::VirtualServiceUnreachableRule => "IST0130",
            Code::VirtualServiceIneffectiveMatch => "IST0131",
            Code::VirtualServiceHostNotFoundInGateway => "IST0132",
            Code::SchemaWarning => "IST0133",
        }
    }

    /// Istio's name for it, `ReferencedResourceNotFound`.
    pub fn name(self) -> &'static str {
        match self {
            Code::ReferencedResourceNotFound => "ReferencedResourceNotFound",
            Code::SchemaValidationError => "SchemaValidationError",
            Code::NoMatchingWorkloadsFound => "NoMatchingWorkloadsFound",
            Code::VirtualServiceUnreachableRule => "VirtualServiceUnreachableRule",
            Code::VirtualServiceIneffectiveMatch => "VirtualServiceIneffectiveMatch",
            Code::VirtualServiceHostNotFoundInGateway => "VirtualServiceHostNotFoundInGateway",
            Code::SchemaWarning => "SchemaWarning",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One problem the analysis found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `None` for what has no Istio code (a document that is not networking config, skipped).
    pub code: Option<Code>,
    /// The resource it is about, `VirtualService default/reviews`; `None` when the document did
    /// not load (a YAML or schema error).
    pub resource: Option<String>,
    pub diagnostic: Diagnostic,
}

/// Analyze `loaded`, the files as [`load_file`](crate::load_file) gives them one by one (not
/// [`load_files`](crate::load_files), whose checks across files this runs itself). With
/// `workloads` (what runs in the mesh), routes to hosts no workload serves and subsets that
/// select none are found too; without, those checks are skipped. Sorted by file and line.
pub fn analyze(loaded: &Loaded, workloads: Option<&[Workload]>) -> Vec<Finding> {
    let resources = &loaded.resources;
    let mut findings: Vec<Finding> = loaded
        .diagnostics
        .iter()
        .map(|d| Finding {
            code: match d.severity {
                Severity::Error => Some(Code::SchemaValidationError),
                Severity::Warning => Some(Code::SchemaWarning),
                Severity::Info => None,
            },
            resource: None,
            diagnostic: d.clone(),
        })
        .collect();
    let mut semantic = |code: Code, diagnostics: Vec<Diagnostic>| {
        findings.extend(diagnostics.into_iter().map(|d| Finding {
            code: Some(code),
            resource: owner(resources, &d),
            diagnostic: d,
        }));
    };
    semantic(
        Code::SchemaValidationError,
        check_duplicates_across_files(resources),
    );
    semantic(Code::ReferencedResourceNotFound, check_subsets(resources));
    semantic(
        Code::ReferencedResourceNotFound,
        check_gateway_refs(resources),
    );
    semantic(
        Code::VirtualServiceHostNotFoundInGateway,
        check_gateway_hosts(resources),
    );
    semantic(
        Code::VirtualServiceUnreachableRule,
        check_unreachable_rules(resources),
    );
    semantic(
        Code::VirtualServiceIneffectiveMatch,
        check_ineffective_matches(resources),
    );
    if let Some(workloads) = workloads {
        let services = workloads.iter().map(|w| w.service.clone()).collect();
        semantic(
            Code::ReferencedResourceNotFound,
            check_hosts(resources, &services),
        );
        semantic(
            Code::NoMatchingWorkloadsFound,
            check_subset_labels(resources, workloads),
        );
    }
    findings.sort_by(|a, b| {
        let (a, b) = (&a.diagnostic, &b.diagnostic);
        (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column))
    });
    findings
}

/// `VirtualService default/reviews`: the resource of the set a diagnostic points into (the last
/// one of its file that starts at or before its line).
fn owner(resources: &[Resource], diagnostic: &Diagnostic) -> Option<String> {
    resources
        .iter()
        .filter(|r| *r.source.file == diagnostic.file && r.source.start().line <= diagnostic.line)
        .max_by_key(|r| r.source.start().line)
        .map(|r| {
            format!(
                "{} {}/{}",
                r.kind().as_str(),
                r.namespace(),
                r.metadata.name
            )
        })
}
