//! Where one proxy stands: the versions sent to it, and its answers.
//!
//! This is what `sailkit proxy-status` shows, like `istioctl proxy-status`: a proxy is in sync
//! when it ACKed the newest version; a NACK keeps its error until the proxy ACKs again.

use std::collections::VecDeque;

/// How many (version, config version) pairs sent to a proxy are remembered, so that an ACK
/// of a version sent a moment before the newest still finds its config version.
const SENT_REMEMBERED: usize = 4;

/// The versions a proxy was sent, and its answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub sent_version: String,
    pub acked_version: String,
    pub acked_config_version: String,
    /// The last NACK's version and error; empty once an ACK follows it.
    pub nacked_version: String,
    pub nack_error: String,
    /// The last versions sent, newest last, with their config versions.
    sent: VecDeque<(String, String)>,
}

impl SyncState {
    /// A snapshot of `version` (config `config_version`) went to the proxy.
    pub fn sent(&mut self, version: &str, config_version: &str) {
        self.sent_version = version.to_owned();
        if self.sent.len() == SENT_REMEMBERED {
            self.sent.pop_front();
        }
        self.sent
            .push_back((version.to_owned(), config_version.to_owned()));
    }

    /// The proxy ACKed `version`. Its config version is known if the version was sent lately.
    pub fn acked(&mut self, version: &str) {
        self.acked_version = version.to_owned();
        self.acked_config_version = self
            .sent
            .iter()
            .rev()
            .find(|(sent, _)| sent == version)
            .map(|(_, config_version)| config_version.clone())
            .unwrap_or_default();
        self.nacked_version.clear();
        self.nack_error.clear();
    }

    /// The proxy NACKed `version` with `error`; what it ACKed before stays in force there.
    pub fn nacked(&mut self, version: &str, error: &str) {
        self.nacked_version = version.to_owned();
        self.nack_error = error.to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ack_finds_the_config_version_it_was_sent_with_and_clears_a_nack() {
        let mut state = SyncState::default();
        state.sent("v1", "c1");
        state.sent("v2", "c2");
        state.nacked("v2", "bad route");
        assert_eq!(state.nack_error, "bad route");
        state.acked("v1");
        assert_eq!(state.acked_config_version, "c1");
        assert!(state.nacked_version.is_empty() && state.nack_error.is_empty());
        assert_eq!(state.sent_version, "v2");
    }
}
