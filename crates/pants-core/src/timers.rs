//! The engine's timers: a hierarchical wheel driven by engine time (whole
//! milliseconds since the engine was created, cached per iteration).

use crate::engine::Engine;

impl Engine {
    /// Milliseconds since the engine was created (monotonic).
    pub fn elapsed_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Starts an iteration: engine time becomes now. Timers scheduled from
    /// here on are due relative to this tick.
    pub fn begin_iteration(&mut self) -> u64 {
        self.stats.iterations += 1;
        self.update_time();
        self.tick
    }

    /// Makes engine time now without starting an iteration: timers scheduled
    /// outside an iteration count from the moment they are scheduled.
    pub fn update_time(&mut self) {
        self.tick = self.elapsed_ms();
    }

    /// Schedules timer `id` to expire `delay_ms` after the current
    /// iteration's tick. Ids are the caller's (small integers, as from a
    /// slab); an id must not be scheduled twice while pending.
    pub fn schedule_timer(&mut self, delay_ms: u64, id: u32) {
        let key = self.timers.insert(self.tick + delay_ms, id);
        let index = id as usize;
        if index >= self.timer_keys.len() {
            self.timer_keys.resize(index + 1, None);
        }
        self.timer_keys[index] = Some(key);
    }

    /// Cancels pending timer `id`; false when it already expired or was cancelled.
    pub fn cancel_timer(&mut self, id: u32) -> bool {
        match self.timer_keys.get_mut(id as usize).and_then(Option::take) {
            Some(key) => self.timers.cancel(key).is_some(),
            None => false,
        }
    }

    /// Copies the ids of timers due at the current tick to `out`, in due
    /// order; call again until it returns 0.
    pub fn take_expired_timers(&mut self, out: &mut [u32]) -> usize {
        if self.expired_taken == self.expired.len() {
            self.expired.clear();
            self.expired_taken = 0;
            self.timers.advance(self.tick, &mut self.expired);
        }
        let batch = &self.expired[self.expired_taken..];
        let count = batch.len().min(out.len());
        out[..count].copy_from_slice(&batch[..count]);
        self.expired_taken += count;
        count
    }

    /// Milliseconds from now until the earliest timer may be due (or a
    /// listener out of descriptors retries), `None` without either.
    pub fn next_timer_delay(&self) -> Option<u64> {
        let timer = self.timers.next_deadline().map(|deadline| deadline.saturating_sub(self.elapsed_ms()));
        let retry = self.accept_retry_at.map(|at| at.saturating_duration_since(std::time::Instant::now()).as_millis() as u64);
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
