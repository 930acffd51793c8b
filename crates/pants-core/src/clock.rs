//! The engine's time and timers: a hierarchical wheel driven by engine
//! time (whole milliseconds since the engine was created, cached per
//! iteration, as libuv caches its loop time).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::timer_wheel::{TimerKey, TimerWheel};

/// Wall-clock seconds since the UNIX epoch.
fn wall_clock() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64())
}

/// Engine time and the timers due relative to it.
pub(crate) struct Clock {
    epoch: Instant,
    /// Engine time: milliseconds since `epoch`, as of the latest [`Clock::update`].
    tick: u64,
    /// Wall-clock seconds since the UNIX epoch at the same moment as `tick`.
    wall_time: f64,
    wheel: TimerWheel,
    /// The timers the latest advance of the wheel fired, and how many of
    /// them [`Clock::take_expired`] has handed out.
    expired: Vec<TimerKey>,
    expired_taken: usize,
    /// The streams' idle timers (`timeout`), apart from the user's timers:
    /// the engine runs them itself, and they never reach the user.
    idle: TimerWheel,
    /// The stream token of each idle timer, by [`TimerKey::index`].
    idle_owner: Vec<usize>,
    idle_expired: Vec<TimerKey>,
}

impl Clock {
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            tick: 0,
            wall_time: wall_clock(),
            wheel: TimerWheel::new(),
            expired: Vec::new(),
            expired_taken: 0,
            idle: TimerWheel::new(),
            idle_owner: Vec::new(),
            idle_expired: Vec::new(),
        }
    }

    /// Milliseconds since the engine was created (monotonic), read now.
    pub fn elapsed_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Engine time, as of the latest [`Clock::update`].
    pub fn time(&self) -> u64 {
        self.tick
    }

    /// Wall-clock seconds at the moment engine time was taken.
    pub fn wall_time(&self) -> f64 {
        self.wall_time
    }

    /// Engine time becomes now.
    pub fn update(&mut self) {
        self.tick = self.elapsed_ms();
        self.wall_time = wall_clock();
    }

    /// A timer due `delay_ms` after engine time.
    pub fn schedule(&mut self, delay_ms: u64) -> TimerKey {
        self.wheel.insert(self.tick + delay_ms)
    }

    /// See [`TimerWheel::cancel`].
    pub fn cancel(&mut self, key: TimerKey) -> bool {
        self.wheel.cancel(key)
    }

    /// Copies the indices of the timers due at engine time to `out`, in
    /// due order; 0 once all were taken. Until then no timer scheduled
    /// meanwhile takes one of their indices.
    pub fn take_expired(&mut self, out: &mut [u32]) -> usize {
        if self.expired_taken == self.expired.len() {
            self.expired.clear();
            self.expired_taken = 0;
            self.wheel.advance(self.tick, &mut self.expired);
        }
        let batch = &self.expired[self.expired_taken..];
        let count = batch.len().min(out.len());
        for (slot, key) in out.iter_mut().zip(batch) {
            *slot = key.index();
        }
        self.expired_taken += count;
        count
    }

    /// Time from now until the earliest timer (the user's or a stream's idle timer) may be due.
    pub fn next_deadline(&self) -> Option<Duration> {
        let deadline = match (self.wheel.next_deadline(), self.idle.next_deadline()) {
            (Some(user), Some(idle)) => Some(user.min(idle)),
            (user, idle) => user.or(idle),
        };
        deadline.map(|deadline| Duration::from_millis(deadline.saturating_sub(self.elapsed_ms())))
    }

    /// An idle timer of the stream `token`, due at engine time `deadline`.
    pub fn schedule_idle(&mut self, deadline: u64, token: usize) -> TimerKey {
        let key = self.idle.insert(deadline);
        let index = key.index() as usize;
        if index >= self.idle_owner.len() {
            self.idle_owner.resize(index + 1, usize::MAX);
        }
        self.idle_owner[index] = token;
        key
    }

    /// Cancels an idle timer.
    pub fn cancel_idle(&mut self, key: TimerKey) {
        self.idle.cancel(key);
    }

    /// The idle timers due at engine time, with their streams' tokens.
    pub fn take_idle_expired(&mut self, out: &mut Vec<(TimerKey, usize)>) {
        self.idle_expired.clear();
        self.idle.advance(self.tick, &mut self.idle_expired);
        out.extend(self.idle_expired.iter().map(|&key| (key, self.idle_owner[key.index() as usize])));
    }

    /// Number of pending timers.
    pub fn len(&self) -> usize {
        self.wheel.len()
    }
}
