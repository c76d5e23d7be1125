//! `sailkit proxy-config routes|clusters|endpoints WORKLOAD`: what one proxy of the running
//! stack really holds, as `istioctl proxy-config` shows an Envoy's.
//!
//! WORKLOAD is a proxy id as `sailkit proxy-status` lists them (`reviews-v2`,
//! `istio-ingressgateway`); its admin address comes from `<data-dir>/run/stack.json`
//! (`workload.rs`), and the answer from its `/config_dump`, whose `routes`, `clusters` and
//! `endpoints` sections the proxy fills from the route table and registry in force (see
//! `mesh/proxy/src/admin_config.rs`). `tables.rs` prints them for people; `-o json` prints the
//! proxy's own JSON for that part.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::cli::DataDirArg;

mod tables;
mod workload;

/// What `sailkit proxy-config --help` prints after the options.
pub const PROXY_CONFIG_AFTER_HELP: &str = "\
WORKLOAD is a proxy as `sailkit proxy-status` lists it: a sidecar by its instance's name
(productpage-v1, reviews-v2, ...) or the ingress gateway, istio-ingressgateway. Its admin address
is read from <data-dir>/run/stack.json and the answer from its /config_dump.

  sailkit proxy-config routes productpage-v1      the rules its outbound listener holds
  sailkit proxy-config clusters productpage-v1    each service and DestinationRule subset
  sailkit proxy-config endpoints productpage-v1   each instance, and whether it is ejected
  sailkit proxy-config routes istio-ingressgateway -o json";

#[derive(Debug, Clone, Args)]
pub struct ProxyConfigArgs {
    /// What to show: `routes` (the rules of the proxy's listener), `clusters` (each service and
    /// subset it sends to, with its policy) or `endpoints` (each instance, with its outlier
    /// state).
    #[arg(value_enum)]
    pub part: Part,

    /// The proxy, as `sailkit proxy-status` names it: `reviews-v2`, `istio-ingressgateway`.
    #[arg(value_name = "WORKLOAD")]
    pub workload: String,

    #[command(flatten)]
    pub data_dir: DataDirArg,

    /// `table` for people; `json` prints the proxy's own JSON for that part.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_parser = ["table", "json"], default_value = "table")]
    pub output: String,
}

/// The part of the proxy's config to show, named as istioctl names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    #[value(alias = "route")]
    Routes,
    #[value(alias = "cluster")]
    Clusters,
    #[value(alias = "endpoint", alias = "ep")]
    Endpoints,
}

impl Part {
    /// The key of `/config_dump` that holds it.
    fn key(self) -> &'static str {
        match self {
            Part::Routes => "routes",
            Part::Clusters => "clusters",
            Part::Endpoints => "endpoints",
        }
    }
}

pub fn main(args: ProxyConfigArgs) -> ExitCode {
    match run(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sailkit proxy-config: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &ProxyConfigArgs) -> Result<String, String> {
    let admin = workload::admin_address(&args.data_dir.data_dir, &args.workload)?;
    let dump = crate::admin_http::get_json(&format!("{admin}/config_dump"))?;
    let part = &dump[args.part.key()];
    let Some(rows) = part.as_array() else {
        return Err(format!(
            "{} ({admin}) has no `{}` in its /config_dump: is it an older proxy?",
            args.workload,
            args.part.key()
        ));
    };
    if args.output == "json" {
        return Ok(format!("{part:#}\n"));
    }
    Ok(match args.part {
        Part::Routes => tables::routes(rows),
        Part::Clusters => tables::clusters(rows),
        Part::Endpoints => tables::endpoints(rows),
    })
}
