//! The one rule for a workload's name when nobody gave one, shared by the proxy (`--workload`'s
//! default) and the control plane (a `Register` with an empty `workload`), so both sides always
//! agree on the name metrics show.

use std::collections::BTreeMap;

/// `<app>-<version>` from the labels (`reviews-v2`, the name of Bookinfo's Deployment), else
/// `service`, else `None` (the caller then falls back to the proxy id).
pub fn default_name(labels: &BTreeMap<String, String>, service: &str) -> Option<String> {
    match (labels.get("app"), labels.get("version")) {
        (Some(app), Some(version)) if !app.is_empty() && !version.is_empty() => {
            Some(format!("{app}-{version}"))
        }
        _ => (!service.is_empty()).then(|| service.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_and_version_then_the_service_then_nothing() {
        let both = BTreeMap::from([
            ("app".to_owned(), "reviews".to_owned()),
            ("version".to_owned(), "v2".to_owned()),
        ]);
        assert_eq!(default_name(&both, "x").as_deref(), Some("reviews-v2"));
        let app_only = BTreeMap::from([("app".to_owned(), "reviews".to_owned())]);
        assert_eq!(
            default_name(&app_only, "reviews").as_deref(),
            Some("reviews")
        );
        assert_eq!(default_name(&app_only, ""), None);
    }
}
