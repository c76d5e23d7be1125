//! Phase 2: which instance gets the next request. Round robin over the ready endpoints, with
//! one atomic add a request: no lock, whatever the number of requests in flight.

use std::sync::atomic::Ordering;

use super::forward::ServiceProxy;

impl ServiceProxy {
    /// Phase 2: the index of the next ready endpoint in turn, if any is ready.
    ///
    /// `fetch_add` hands every request its own turn even when many arrive at once on several
    /// threads. An endpoint that is not ready passes its turn to the next ready one along the
    /// ring (so, while one of three is down, its neighbour gets two turns in three: uneven, but
    /// simple, and it only lasts until the instance is back).
    pub(super) fn pick(&self) -> Option<usize> {
        let count = self.endpoints.len();
        if count == 0 {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|offset| turn.wrapping_add(offset) % count)
            .find(|&i| self.endpoints[i].is_ready())
    }

    /// The next ready endpoint after `failed`, for the one retry of a connect error.
    pub(super) fn pick_after(&self, failed: usize) -> Option<usize> {
        let count = self.endpoints.len();
        (1..count)
            .map(|offset| (failed + offset) % count)
            .find(|&i| self.endpoints[i].is_ready())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use super::super::endpoint::Endpoint;
    use super::*;

    fn proxy_with(ready: &[bool]) -> Arc<ServiceProxy> {
        let endpoints = ready
            .iter()
            .enumerate()
            .map(|(i, &ready)| {
                let endpoint =
                    Endpoint::new(format!("e{i}"), SocketAddr::from(([127, 0, 0, 1], 1)));
                endpoint.set_ready(ready);
                endpoint
            })
            .collect();
        ServiceProxy::new("test", endpoints)
    }

    #[test]
    fn round_robin_takes_turns() {
        let proxy = proxy_with(&[true, true, true]);
        let picks: Vec<_> = (0..6).filter_map(|_| proxy.pick()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn endpoints_that_are_not_ready_are_skipped() {
        let proxy = proxy_with(&[true, false, true]);
        let picks: Vec<_> = (0..4).filter_map(|_| proxy.pick()).collect();
        assert!(!picks.contains(&1), "{picks:?}");
        assert_eq!(proxy.pick_after(0), Some(2));
        assert_eq!(proxy.pick_after(2), Some(0));
    }

    #[test]
    fn nothing_ready_means_no_pick() {
        assert_eq!(proxy_with(&[false, false]).pick(), None);
        assert_eq!(proxy_with(&[]).pick(), None);
        assert_eq!(proxy_with(&[true]).pick_after(0), None);
    }
}
