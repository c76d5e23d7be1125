//! Loading: YAML text → typed, validated [`Resource`]s plus [`Diagnostic`]s.
//!
//! Steps for each `---` document of a file:
//! 1. parse the YAML into a tree, remembering where every field was written (`yaml`);
//! 2. skip empty documents, and documents that are not `networking.istio.io` (a Deployment in the
//!    same file is normal: it gets an info note and is skipped);
//! 3. deserialize `spec` into the typed model, with the field path of the first mistake
//!    (`serde_path_to_error`): wrong type, unknown field, missing field, bad enum value, bad
//!    duration or percentage;
//! 4. run the checks serde cannot express (`validate`): weights adding up to 100, a route or a
//!    redirect in every rule, regexes that compile, fields we parse but do not implement.
//!
//! A document with an error is left out of the result; the others are kept, so one bad document
//! does not hide the problems in the rest.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

// `Report` lives in `diagnostics`, which both `load` and `validate` use; this path stays valid.
pub use crate::diagnostics::Report;

use crate::diagnostics::{Diagnostic, Severity, has_errors};
use crate::model::{
    API_GROUP, API_VERSIONS, Kind, Metadata, Resource, Source, Spec, Unimplemented,
};
use crate::validate;
use crate::yaml::{self, Document, LIMITS, SpanMap};

/// What loading produced: the resources that passed, and every diagnostic found.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub resources: Vec<Resource>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        has_errors(&self.diagnostics)
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// Networking kinds that exist in Istio but that sailkit ignores (with a warning).
const OTHER_NETWORKING_KINDS: [&str; 6] = [
    "Sidecar",
    "EnvoyFilter",
    "WorkloadEntry",
    "WorkloadGroup",
    "ProxyConfig",
    "Telemetry",
];

/// Load one file. An unreadable file, or one past [`LIMITS`]`.file_bytes`, is a single error
/// diagnostic.
pub fn load_file(path: impl AsRef<Path>) -> Loaded {
    let path = path.as_ref();
    let name = path.display().to_string();
    let message = match read_within_limit(path) {
        Ok(text) => return load_str(&name, &text),
        Err(message) => message,
    };
    Loaded {
        resources: Vec::new(),
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            file: name,
            line: 1,
            column: 1,
            path: String::new(),
            message,
        }],
    }
}

/// The file's text, or why it cannot be loaded. At most one byte past the size limit is read,
/// so a huge file (or `/dev/zero`) costs no more memory than one that fits.
fn read_within_limit(path: &Path) -> Result<String, String> {
    let cannot_read = |error: std::io::Error| format!("cannot read the file: {error}");
    let limit = LIMITS.file_bytes;
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut bytes))
        .map_err(cannot_read)?;
    if bytes.len() > limit {
        // The size on disk, when it says more than what was read (it may not: `/dev/zero`).
        let on_disk = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
        yaml::check_file_size(on_disk.max(bytes.len()), LIMITS)
            .map_err(|too_large| too_large.to_string())?;
    }
    String::from_utf8(bytes)
        .map_err(|error| format!("cannot read the file: it is not UTF-8 text ({error})"))
}

/// Load several files as one set: each file as [`load_file`] does, then the checks that need the
/// whole set ([`validate::check_set`]: duplicate names across files, subsets that no
/// DestinationRule defines).
pub fn load_files<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    let mut all = Loaded::default();
    for path in paths {
        let loaded = load_file(path);
        all.resources.extend(loaded.resources);
        all.diagnostics.extend(loaded.diagnostics);
    }
    all.diagnostics.extend(validate::check_set(&all.resources));
    all
}

/// Load a multi-document YAML text; `name` is used as the file name in diagnostics.
/// Duplicate names inside this text are reported; references to other resources are not
/// (see [`load_files`] and [`validate::check_set`]).
pub fn load_str(name: &str, text: &str) -> Loaded {
    let file: Arc<str> = Arc::from(name);
    let mut out = Loaded::default();
    let documents = match yaml::parse_documents(text) {
        Ok(documents) => documents,
        Err(error) => {
            out.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                file: name.to_owned(),
                line: error.position.line,
                column: error.position.column,
                path: String::new(),
                message: error.to_string(),
            });
            return out;
        }
    };
    for Document { value, spans } in documents {
        // The spans are shared by the report and the resource, so the document is never copied:
        // a 10,000-route file would otherwise be held twice while it loads.
        let spans = Arc::new(spans);
        let mut report = Report::new(&file, &spans);
        if let Some(resource) = load_document(&file, value, Arc::clone(&spans), &mut report) {
            validate::check_resource(&resource, &mut report);
            if !has_errors(&report.diagnostics) {
                out.resources.push(resource);
            }
        }
        out.diagnostics.extend(report.diagnostics);
    }
    out.diagnostics
        .extend(validate::check_duplicates(&out.resources));
    out
}

/// The Kubernetes envelope around a spec.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope<S> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Metadata,
    spec: S,
    #[allow(dead_code)]
    status: Option<Unimplemented>,
}

fn load_document(
    file: &Arc<str>,
    value: Value,
    spans: Arc<SpanMap>,
    report: &mut Report<'_>,
) -> Option<Resource> {
    if value.is_null() {
        return None;
    }
    let Some(object) = value.as_object() else {
        report.error(
            "",
            "expected a Kubernetes resource: a mapping with apiVersion, kind, metadata and spec",
        );
        return None;
    };
    let (Some(api_version), Some(kind)) = (
        object.get("apiVersion").and_then(Value::as_str),
        object.get("kind").and_then(Value::as_str),
    ) else {
        report.error(
            "",
            "missing field `apiVersion` or `kind` (both must be strings)",
        );
        return None;
    };
    let (api_version, kind) = (api_version.to_owned(), kind.to_owned());
    let (group, version) = api_version
        .split_once('/')
        .unwrap_or(("", api_version.as_str()));
    if group != API_GROUP {
        report.push(
            Severity::Info,
            "kind",
            format!("skipped {kind} ({api_version}): not a {API_GROUP} resource"),
        );
        return None;
    }
    if !API_VERSIONS.contains(&version) {
        report.error(
            "apiVersion",
            format!(
                "unknown version {version:?}: expected one of {}",
                API_VERSIONS.join(", ")
            ),
        );
        return None;
    }
    let Some(known) = Kind::from_name(&kind) else {
        if OTHER_NETWORKING_KINDS.contains(&kind.as_str()) {
            report.warn(
                "kind",
                format!("{kind} is not implemented by sailkit; ignored"),
            );
        } else {
            report.error(
                "kind",
                format!(
                    "unknown kind {kind:?}: expected VirtualService, DestinationRule, Gateway or ServiceEntry"
                ),
            );
        }
        return None;
    };
    let (metadata, spec) = match known {
        Kind::VirtualService => typed(value, report, Spec::VirtualService)?,
        Kind::DestinationRule => typed(value, report, |dr| Spec::DestinationRule(Box::new(dr)))?,
        Kind::Gateway => typed(value, report, Spec::Gateway)?,
        Kind::ServiceEntry => typed(value, report, Spec::ServiceEntry)?,
    };
    Some(Resource {
        api_version,
        metadata,
        spec,
        source: Source {
            file: Arc::clone(file),
            spans,
        },
    })
}

/// Deserialize the whole document as `Envelope<S>`, reporting the path of the first mistake.
fn typed<S: DeserializeOwned>(
    value: Value,
    report: &mut Report<'_>,
    wrap: fn(S) -> Spec,
) -> Option<(Metadata, Spec)> {
    match serde_path_to_error::deserialize::<_, Envelope<S>>(value) {
        Ok(envelope) => Some((envelope.metadata, wrap(envelope.spec))),
        Err(error) => {
            let mut path = error.path().to_string();
            if path == "." {
                path.clear();
            }
            // For an unknown field the path already ends with the unknown key itself.
            report.error(&path, error.into_inner().to_string());
            None
        }
    }
}
