//! The five services of the stack and the monolith, by name, and `sailkit serve <service>`.
//!
//! `sailkit serve reviews 9102` runs the very code the `reviews` binary runs
//! (`common::service::start`), so one executable can play every part: that is what lets
//! `sailkit up` start each instance as a child process of its own executable.
//! `sailkit serve monolith` runs the whole app in one process, as `--stage monolith` does.

use std::process::ExitCode;

use clap::ValueEnum;
use common::service::{ListenArgs, start};
use serde::{Deserialize, Serialize};

use crate::cli::ServeArgs;

/// A program `sailkit serve` can run: one of the five services, or the monolith that links them
/// all. The order of [`ServiceName::ALL`] is the order of the VIP ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceName {
    /// The web front end: the book page, calling details, reviews and banner.
    Productpage,
    /// Book facts (ISBN, publisher, ...).
    Details,
    /// Book reviews; v2 and v3 show ratings as stars.
    Reviews,
    /// Star ratings; v2 reads them from a database.
    Ratings,
    /// Promotional banners shown on the product page.
    Banner,
    /// The whole app in one process: the five above, wired in-process over one database.
    Monolith,
}

impl ServiceName {
    /// The five services of the split stack, front door first. The monolith is not among them:
    /// it is all of them at once.
    pub const ALL: [ServiceName; 5] = [
        ServiceName::Productpage,
        ServiceName::Details,
        ServiceName::Reviews,
        ServiceName::Ratings,
        ServiceName::Banner,
    ];

    /// The name shared by the crate, the binary and the `app` label.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Productpage => "productpage",
            ServiceName::Details => "details",
            ServiceName::Reviews => "reviews",
            ServiceName::Ratings => "ratings",
            ServiceName::Banner => "banner",
            ServiceName::Monolith => "monolith",
        }
    }

    /// The prefix of the variables through which the others find this service, as Bookinfo
    /// names them: `REVIEWS` for `REVIEWS_HOSTNAME` and `REVIEWS_SERVICE_PORT`.
    pub fn env_prefix(self) -> &'static str {
        match self {
            ServiceName::Productpage => "PRODUCTPAGE",
            ServiceName::Details => "DETAILS",
            ServiceName::Reviews => "REVIEWS",
            ServiceName::Ratings => "RATINGS",
            ServiceName::Banner => "BANNER",
            ServiceName::Monolith => "MONOLITH",
        }
    }

    /// Runs this service on `listen` until it is asked to stop; the exit code is the one its
    /// own binary would return.
    pub async fn start(self, listen: ListenArgs) -> ExitCode {
        match self {
            ServiceName::Productpage => start::<productpage::Productpage>(listen).await,
            ServiceName::Details => start::<details::Details>(listen).await,
            ServiceName::Reviews => start::<reviews::Reviews>(listen).await,
            ServiceName::Ratings => start::<ratings::Ratings>(listen).await,
            ServiceName::Banner => start::<banner::Banner>(listen).await,
            ServiceName::Monolith => start::<monolith::Monolith>(listen).await,
        }
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sailkit serve <service> [PORT] [--bind ADDR]`: the same start-up as the service's own binary.
pub fn serve(args: ServeArgs) -> ExitCode {
    common::service::block_on(args.service.as_str(), args.service.start(args.listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_command_line_values() {
        for service in ServiceName::value_variants() {
            let value = service.to_possible_value().expect("no service is hidden");
            assert_eq!(value.get_name(), service.as_str());
            assert_eq!(service.env_prefix(), service.as_str().to_uppercase());
        }
    }
}
