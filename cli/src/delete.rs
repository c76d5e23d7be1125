//! `sailkit delete FILE...|KIND/NAME...`: take Istio resources out of force, the local `kubectl
//! delete`. A file names the resources it defines (as `kubectl delete -f`); `KIND/NAME` names
//! one, with kubectl's spellings of Istio's kinds (`virtualservice/reviews`, `vs/reviews`).
//!
//! The change goes where `sailkit apply`'s goes (`apply::target`), and is made by the same
//! store: a resource not in force is an error naming it; a delete that leaves the set with an
//! error is refused whole; one that leaves warnings (a VirtualService still routing to a subset
//! of a deleted DestinationRule) is made, and the warnings printed. Then it waits for the
//! proxies as `apply` does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mesh_config::Kind;
use mesh_control::config_source::store::Key;

use crate::apply::{self, Verb};
use crate::cli::DataDirArg;

#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// What to take out of force: Istio YAML files (the resources each defines), or KIND/NAME
    /// such as virtualservice/reviews, vs/reviews, destinationrule/reviews, dr/reviews,
    /// gateway/bookinfo-gateway, gw/..., serviceentry/..., se/...
    #[arg(value_name = "FILE|KIND/NAME", required = true)]
    pub targets: Vec<String>,

    /// The namespace of the KIND/NAME resources.
    #[arg(short = 'n', long, value_name = "NS", default_value = "default")]
    pub namespace: String,

    /// The control plane's gRPC URL, for a stack elsewhere (default: the running stack's, from
    /// its stack.json; without one, the config folder is changed directly).
    #[arg(long, value_name = "URL")]
    pub control_plane: Option<String>,

    #[command(flatten)]
    pub data_dir: DataDirArg,
}

pub const DELETE_AFTER_HELP: &str = "\
Each resource must be in force (`sailkit apply --list` shows them), or nothing is deleted. The set
that stays is checked as `apply` checks it: an error refuses the delete, a warning (a route to a
subset of a deleted DestinationRule) is printed. A file left with no resource is removed, one
that keeps some is rewritten without the others. Then, as after `apply`, the command waits until
every proxy has the change in force.";

/// What one argument names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Resource(Kind, String),
    File(PathBuf),
}

/// `sailkit delete`, from the command line to the exit code.
pub fn main(args: DeleteArgs) -> ExitCode {
    let mut keys: Vec<Key> = Vec::new();
    let mut paths = Vec::new();
    for argument in &args.targets {
        match parse(argument) {
            Target::Resource(kind, name) => keys.push((kind, args.namespace.clone(), name)),
            Target::File(path) => paths.push(path),
        }
    }
    let target = apply::target(&args.data_dir.data_dir, args.control_plane.as_deref());
    apply::exit_code(
        apply::read_files(&paths)
            .and_then(|files| apply::change(&target, Verb::Delete, &keys, files)),
    )
}

/// `KIND/NAME` when the part before the one `/` is a kind, else a file.
fn parse(argument: &str) -> Target {
    if let Some((kind, name)) = argument.split_once('/')
        && !name.is_empty()
        && !name.contains('/')
        && let Some(kind) = kind_of(kind)
    {
        return Target::Resource(kind, name.to_owned());
    }
    Target::File(PathBuf::from(argument))
}

/// kubectl's names for Istio's kinds: singular, plural, short, in any case.
fn kind_of(word: &str) -> Option<Kind> {
    match word.to_ascii_lowercase().as_str() {
        "virtualservice" | "virtualservices" | "vs" => Some(Kind::VirtualService),
        "destinationrule" | "destinationrules" | "dr" => Some(Kind::DestinationRule),
        "gateway" | "gateways" | "gw" => Some(Kind::Gateway),
        "serviceentry" | "serviceentries" | "se" => Some(Kind::ServiceEntry),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_slash_name_is_a_resource_and_anything_else_a_file() {
        let resource = |kind, name: &str| Target::Resource(kind, name.to_owned());
        assert_eq!(
            parse("vs/reviews"),
            resource(Kind::VirtualService, "reviews")
        );
        assert_eq!(
            parse("VirtualService/reviews"),
            resource(Kind::VirtualService, "reviews")
        );
        assert_eq!(
            parse("destinationrules/x"),
            resource(Kind::DestinationRule, "x")
        );
        assert_eq!(
            parse("gw/bookinfo-gateway"),
            resource(Kind::Gateway, "bookinfo-gateway")
        );
        assert_eq!(parse("se/httpbin"), resource(Kind::ServiceEntry, "httpbin"));
        for file in [
            "k8s/networking/x.yaml",
            "x.yaml",
            "vs/",
            "vs/a/b.yaml",
            "/tmp/vs.yaml",
        ] {
            assert_eq!(parse(file), Target::File(PathBuf::from(file)), "{file}");
        }
    }
}
