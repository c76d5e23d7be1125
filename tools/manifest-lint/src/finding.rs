//! What a check found, and the closed set of checks.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::object::Object;

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Every Service selects the pods of some workload.
    Selectors,
    /// Every Service's targetPort is a port of the pods it selects.
    Ports,
    /// Every peer host name in an env var or an argument is a Service.
    Hostnames,
    /// Every image is one `docker/` builds (or one allowed).
    Images,
    /// Every ServiceAccount, ConfigMap and Secret a pod names exists.
    References,
    /// Every VirtualService host, destination and subset exists.
    Istio,
    /// Every pod passes Pod Security `restricted`, with a read-only root filesystem.
    PodSecurity,
}

impl Check {
    pub const ALL: [Check; 7] = [
        Check::Selectors,
        Check::Ports,
        Check::Hostnames,
        Check::Images,
        Check::References,
        Check::Istio,
        Check::PodSecurity,
    ];

    /// The name on the command line (`--skip pod-security`) and in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Check::Selectors => "selectors",
            Check::Ports => "ports",
            Check::Hostnames => "hostnames",
            Check::Images => "images",
            Check::References => "references",
            Check::Istio => "istio",
            Check::PodSecurity => "pod-security",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Check {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Check::ALL
            .into_iter()
            .find(|check| check.name() == s)
            .ok_or_else(|| format!("no check is called `{s}`"))
    }
}

/// One problem: `rendered.yaml:120: Service bookinfo/reviews: selector app=reviewz matches no
/// pod template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub file: Arc<str>,
    pub line: usize,
    /// `Kind namespace/name`.
    pub object: String,
    pub message: String,
}

impl Finding {
    /// A finding about `object`, at the line of its field `path`.
    pub fn at(check: Check, object: &Object, path: &str, message: impl Into<String>) -> Self {
        Finding {
            check,
            file: object.file.clone(),
            line: object.line(path),
            object: object.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.object, self.message
        )
    }
}
