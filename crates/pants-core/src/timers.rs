//! The engine's timers: a hierarchical wheel driven by engine time (whole
//! milliseconds since the engine was created, cached per iteration, as
//! libuv caches its loop time).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::Engine;
use crate::timer_wheel::TimerKey;

/// Wall-clock seconds since the UNIX epoch.
pub(crate) fn wall_clock() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64())
}

impl Engine {
    /// Milliseconds since the engine was created (monotonic).
    pub fn elapsed_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Engine time: milliseconds since the engine was created, as of the
    /// start of the latest iteration (or [`Engine::refresh_time`]).
    pub fn time(&self) -> u64 {
        self.tick
    }

    /// Wall-clock seconds since the UNIX epoch at the moment engine time
    /// was taken: Pants' `latestPollTime`.
    pub fn latest_poll_time(&self) -> f64 {
        self.wall_time
    }

    pub(crate) fn update_time(&mut self) {
        self.tick = self.elapsed_ms();
        self.wall_time = wall_clock();
    }

    /// Outside an iteration, makes engine time now: for a host whose loop
    /// has turned since the latest iteration (its own callbacks ran since,
    /// and a timer they schedule should count from their time, as the
    /// host's own timers do). Inside an iteration it does nothing: engine
    /// time stays the iteration's.
    pub fn refresh_time(&mut self) {
        if !self.in_iteration {
            self.update_time();
        }
    }

    /// Schedules a timer due `delay_ms` after engine time, and returns its
    /// key: its id in [`Engine::take_expired_timers`], and what cancels it.
    pub fn schedule_timer(&mut self, delay_ms: u64) -> TimerKey {
        self.timers.insert(self.tick + delay_ms)
    }

    /// Cancels a timer: true when it was pending, or due but not yet taken
    /// past (see [`TimerWheel::cancel`](crate::TimerWheel::cancel)); false
    /// for a key cancelled already or long expired.
    pub fn cancel_timer(&mut self, key: TimerKey) -> bool {
        self.timers.cancel(key)
    }

    /// Copies the indices ([`TimerKey::index`]) of the timers due at engine
    /// time to `out`, in due order; call again until it returns 0. Until
    /// then no timer scheduled meanwhile takes one of their indices.
    pub fn take_expired_timers(&mut self, out: &mut [u32]) -> usize {
        if self.expired_taken == self.expired.len() {
            self.expired.clear();
            self.expired_taken = 0;
            self.timers.advance(self.tick, &mut self.expired);
        }
        let batch = &self.expired[self.expired_taken..];
        let count = batch.len().min(out.len());
        for (slot, key) in out.iter_mut().zip(batch) {
            *slot = key.index();
        }
        self.expired_taken += count;
        count
    }

    /// Time from now until the earliest timer may be due (or a listener out
    /// of descriptors retries), `None` without either.
    pub fn next_timer_delay(&self) -> Option<Duration> {
        let timer = self.timers.next_deadline().map(|deadline| Duration::from_millis(deadline.saturating_sub(self.elapsed_ms())));
        let retry = self.accept_retry_at.map(|at| at.saturating_duration_since(std::time::Instant::now()));
        match (timer, retry) {
            (Some(timer), Some(retry)) => Some(timer.min(retry)),
            (timer, retry) => timer.or(retry),
        }
    }

    /// Number of pending timers.
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }
}
