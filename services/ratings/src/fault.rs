//! The fault variants: ratings that misbehave on purpose.
//!
//! Bookinfo ships four test images of ratings so that Istio's dashboards and resilience
//! features have something to show. They differ from v1 only in *when* they misbehave:
//!
//! - **by chance** (v-faulty, v-delayed): each GET draws a random number; with probability `p`
//!   it fails with 503 (v-faulty) or waits before answering (v-delayed);
//! - **by the clock** (v-unavailable, v-unhealthy): time since start is cut into periods that
//!   alternate, working first, then failing. v-unhealthy also fails its health check in the
//!   failing periods, so Kubernetes sees an unhealthy pod.
//!
//! Only `GET /ratings/{id}` is affected, never `POST`, as in Bookinfo. The phase is computed
//! from the clock at each request rather than flipped by a timer, so there is no background
//! task to start or stop. The random draws come from a seedable generator, so a run (or a test)
//! can be repeated exactly.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{FaultSettings, Version};

/// What to do with one `GET /ratings/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answer normally.
    Proceed,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 503 `{"error": "Service unavailable"}`.
    Unavailable,
}

/// The misbehaviour of the running variant; does nothing for v1 and v2.
#[derive(Debug)]
pub struct Faults {
    kind: Kind,
    settings: FaultSettings,
    started: Instant,
    rng: Mutex<fastrand::Rng>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    FailByChance,
    DelayByChance,
    FlipGets,
    FlipGetsAndHealth,
}

impl Faults {
    /// The faults of `version`, its clock starting now.
    pub fn new(version: Version, settings: FaultSettings) -> Self {
        let kind = match version {
            Version::V1 | Version::V2 => Kind::None,
            Version::Faulty => Kind::FailByChance,
            Version::Delayed => Kind::DelayByChance,
            Version::Unavailable => Kind::FlipGets,
            Version::Unhealthy => Kind::FlipGetsAndHealth,
        };
        let rng = match settings.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Self {
            kind,
            settings,
            started: Instant::now(),
            rng: Mutex::new(rng),
        }
    }

    /// No faults at all (v1, v2).
    pub fn none() -> Self {
        Self::new(Version::V1, FaultSettings::bookinfo(Version::V1))
    }

    /// What to do with a GET arriving now.
    pub fn on_get(&self) -> Verdict {
        match self.kind {
            Kind::None => Verdict::Proceed,
            Kind::FailByChance if self.unlucky() => Verdict::Unavailable,
            Kind::DelayByChance if self.unlucky() => Verdict::Delay(self.settings.delay),
            Kind::FlipGets | Kind::FlipGetsAndHealth if self.failing_now() => Verdict::Unavailable,
            _ => Verdict::Proceed,
        }
    }

    /// Whether `/health` should report healthy now.
    pub fn healthy(&self) -> bool {
        !(self.kind == Kind::FlipGetsAndHealth && self.failing_now())
    }

    fn unlucky(&self) -> bool {
        // A poisoned lock only means another request panicked mid-draw; the generator is
        // still usable.
        let draw = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .f64();
        draw < self.settings.probability
    }

    fn failing_now(&self) -> bool {
        in_failing_phase(self.started.elapsed(), self.settings.period)
    }
}

/// Whether `elapsed` (time since start) falls in a failing period: periods alternate working,
/// failing, working, ... starting with working.
pub fn in_failing_phase(elapsed: Duration, period: Duration) -> bool {
    let period = period.as_nanos().max(1);
    (elapsed.as_nanos() / period) % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(probability: f64, seed: u64) -> FaultSettings {
        FaultSettings {
            probability,
            seed: Some(seed),
            ..FaultSettings::bookinfo(Version::Faulty)
        }
    }

    #[test]
    fn periods_alternate_starting_with_working() {
        let period = Duration::from_secs(60);
        let at = |secs: u64| in_failing_phase(Duration::from_secs(secs), period);
        assert!(!at(0));
        assert!(!at(59));
        assert!(at(60));
        assert!(at(119));
        assert!(!at(120));
        assert!(at(180));
    }

    #[test]
    fn v1_and_v2_never_misbehave() {
        let faults = Faults::new(Version::V2, settings(1.0, 1));
        assert_eq!(faults.on_get(), Verdict::Proceed);
        assert!(faults.healthy());
    }

    #[test]
    fn probability_one_always_and_zero_never() {
        let always = Faults::new(Version::Faulty, settings(1.0, 7));
        let never = Faults::new(Version::Faulty, settings(0.0, 7));
        for _ in 0..100 {
            assert_eq!(always.on_get(), Verdict::Unavailable);
            assert_eq!(never.on_get(), Verdict::Proceed);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_verdicts() {
        let a = Faults::new(Version::Delayed, settings(0.5, 2024));
        let b = Faults::new(Version::Delayed, settings(0.5, 2024));
        let run = |f: &Faults| (0..64).map(|_| f.on_get()).collect::<Vec<_>>();
        let verdicts = run(&a);
        assert_eq!(verdicts, run(&b));
        assert!(verdicts.contains(&Verdict::Delay(Duration::from_secs(7))));
        assert!(verdicts.contains(&Verdict::Proceed));
    }

    #[test]
    fn unavailable_and_unhealthy_start_working() {
        for version in [Version::Unavailable, Version::Unhealthy] {
            let faults = Faults::new(version, FaultSettings::bookinfo(version));
            assert_eq!(faults.on_get(), Verdict::Proceed);
            assert!(faults.healthy());
        }
    }
}
