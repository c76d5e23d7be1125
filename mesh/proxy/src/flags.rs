//! Envoy's response flags: the short codes (`UF`, `URX`, `DC`, ...) that say in a few letters
//! what happened to a request besides its status. The stages set them, the access log and the
//! `x-sailkit-flags` header print them, `/stats` counts them.
//!
//! [`Flag`] is the closed set the proxy sets, each with Envoy's name as its [`Display`]; a
//! request's [`Flags`] is a set of them kept as one bit each, so that adding a flag costs no
//! allocation and the set always prints in the same order (`UF,URX`, whichever stage noticed
//! first).

use std::fmt;

/// One response flag. The order of the variants is the order in which a set prints and in
/// which `/stats` lists its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `DI`: the request was delayed by an injected fault.
    DelayInjected,
    /// `FI`: the request was aborted by an injected fault.
    FaultInjected,
    /// `NR`: no route matched the request.
    NoRoute,
    /// `NC`: the route's destination is no known service.
    NoCluster,
    /// `UH`: the destination has no healthy endpoint (none at all, or all ejected).
    NoHealthyUpstream,
    /// `UO`: a circuit breaker refused the request (connection pool overflow).
    UpstreamOverflow,
    /// `UF`: the connection to the upstream failed.
    UpstreamConnectionFailure,
    /// `UC`: the upstream closed the connection before its response.
    UpstreamConnectionTermination,
    /// `UR`: the upstream reset the stream (HTTP/2 `REFUSED_STREAM`).
    UpstreamRemoteReset,
    /// `UT`: the route's timeout passed.
    UpstreamRequestTimeout,
    /// `URX`: the retries were used up, and the last attempt's answer is the response.
    UpstreamRetryLimitExceeded,
    /// `DPE`: the caller's request was malformed (no host, a malformed body): 400.
    DownstreamProtocolError,
    /// `DC`: the caller went away before its answer, or halfway through its body (status 0 in
    /// the log).
    DownstreamConnectionTermination,
}

impl Flag {
    /// Every flag, in printing order.
    pub const ALL: [Flag; 13] = [
        Flag::DelayInjected,
        Flag::FaultInjected,
        Flag::NoRoute,
        Flag::NoCluster,
        Flag::NoHealthyUpstream,
        Flag::UpstreamOverflow,
        Flag::UpstreamConnectionFailure,
        Flag::UpstreamConnectionTermination,
        Flag::UpstreamRemoteReset,
        Flag::UpstreamRequestTimeout,
        Flag::UpstreamRetryLimitExceeded,
        Flag::DownstreamProtocolError,
        Flag::DownstreamConnectionTermination,
    ];

    /// Envoy's name for the flag.
    pub const fn as_str(self) -> &'static str {
        match self {
            Flag::DelayInjected => "DI",
            Flag::FaultInjected => "FI",
            Flag::NoRoute => "NR",
            Flag::NoCluster => "NC",
            Flag::NoHealthyUpstream => "UH",
            Flag::UpstreamOverflow => "UO",
            Flag::UpstreamConnectionFailure => "UF",
            Flag::UpstreamConnectionTermination => "UC",
            Flag::UpstreamRemoteReset => "UR",
            Flag::UpstreamRequestTimeout => "UT",
            Flag::UpstreamRetryLimitExceeded => "URX",
            Flag::DownstreamProtocolError => "DPE",
            Flag::DownstreamConnectionTermination => "DC",
        }
    }

    /// The flag's place in [`Flag::ALL`], which is also its bit in [`Flags`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The flags of one request: bit `i` stands for `Flag::ALL[i]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags(u16);

impl Flags {
    /// No flag.
    pub const fn new() -> Flags {
        Flags(0)
    }

    /// The set whose bits are `bits` (as [`Flags::bits`] gave them).
    pub const fn from_bits(bits: u16) -> Flags {
        Flags(bits)
    }

    /// One bit per flag, as `/stats` keys its counters.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Add `flag`; adding it twice changes nothing.
    pub fn insert(&mut self, flag: Flag) {
        self.0 |= 1 << flag.index();
    }

    pub fn contains(self, flag: Flag) -> bool {
        self.0 & (1 << flag.index()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags in the set, in printing order.
    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL
            .into_iter()
            .filter(move |flag| self.contains(*flag))
    }
}

impl fmt::Display for Flags {
    /// The names joined by commas (`UF,URX`); nothing for an empty set (the access log and
    /// Prometheus print `-` for that themselves).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, flag) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(flag.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_envoys_in_the_order_stats_lists_them() {
        let names: Vec<String> = Flag::ALL.iter().map(Flag::to_string).collect();
        assert_eq!(
            names,
            [
                "DI", "FI", "NR", "NC", "UH", "UO", "UF", "UC", "UR", "UT", "URX", "DPE", "DC"
            ]
        );
        for (i, flag) in Flag::ALL.into_iter().enumerate() {
            assert_eq!(flag.index(), i);
        }
    }

    #[test]
    fn a_set_prints_in_order_whatever_the_order_flags_were_added() {
        let mut flags = Flags::new();
        assert_eq!(flags.to_string(), "");
        flags.insert(Flag::UpstreamRetryLimitExceeded);
        flags.insert(Flag::UpstreamConnectionFailure);
        flags.insert(Flag::UpstreamRetryLimitExceeded);
        assert_eq!(flags.to_string(), "UF,URX");
        assert!(flags.contains(Flag::UpstreamConnectionFailure));
        assert!(!flags.contains(Flag::DownstreamConnectionTermination));
        assert_eq!(Flags::from_bits(flags.bits()), flags);
    }
}
