//! The measured window shared by both modes: a warmup that is run but not
//! counted, then `--duration` seconds (or `--messages` messages) that are.

use std::time::{Duration, Instant};

use crate::args::Config;
use crate::histogram::Histogram;

pub struct Report {
    pub msgs: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub errors: u64,
    /// Bytes read from the sockets (framing, compression, and for
    /// `--broadcast` every delivery included).
    pub wire_bytes: u64,
}

impl Report {
    pub fn to_json(&self) -> String {
        let per_second = |n: f64| {
            if self.seconds > 0.0 {
                n / self.seconds
            } else {
                0.0
            }
        };
        format!(
            "{{\"msgs\":{},\"bytes\":{},\"seconds\":{:.3},\"msgsPerSec\":{:.1},\"mbPerSec\":{:.2},\"p50us\":{:.1},\"p99us\":{:.1},\"errors\":{},\"wireBytes\":{}}}",
            self.msgs,
            self.bytes,
            self.seconds,
            per_second(self.msgs as f64),
            per_second(self.bytes as f64) / 1e6,
            self.p50_us,
            self.p99_us,
            self.errors,
            self.wire_bytes
        )
    }
}

/// What happens next, as decided by [`Window::tick`].
pub enum Next {
    /// Poll for at most this long.
    Poll(Duration),
    /// The measured window is over.
    Done(Report),
}

pub struct Window<'a> {
    cfg: &'a Config,
    /// When the warmup started: `None` until [`Window::begin`].
    warmup_since: Option<Instant>,
    measuring_since: Option<Instant>,
    msgs: u64,
    wire_bytes: u64,
    hist: Histogram,
}

impl<'a> Window<'a> {
    pub fn new(cfg: &'a Config) -> Self {
        Window { cfg, warmup_since: None, measuring_since: None, msgs: 0, wire_bytes: 0, hist: Histogram::new() }
    }

    /// Starts the warmup (once every connection is up, or at once for churn).
    pub fn begin(&mut self, now: Instant) {
        self.warmup_since.get_or_insert(now);
    }

    pub fn begun(&self) -> bool {
        self.warmup_since.is_some()
    }

    pub fn measuring(&self) -> bool {
        self.measuring_since.is_some()
    }

    /// Counts completed messages, if measuring.
    pub fn count(&mut self, completed: u64) {
        if self.measuring() {
            self.msgs += completed;
        }
    }

    /// Counts bytes read from a socket, if measuring.
    pub fn count_wire(&mut self, bytes: u64) {
        if self.measuring() {
            self.wire_bytes += bytes;
        }
    }

    /// Records one round trip, if measuring.
    pub fn record(&mut self, round_trip: Duration) {
        if self.measuring() {
            self.hist.record(round_trip.as_nanos() as u64);
        }
    }

    /// The histogram to record into while `measuring()` (for closures that
    /// cannot borrow the whole window).
    pub fn histogram(&mut self) -> &mut Histogram {
        &mut self.hist
    }

    /// Moves from warmup to measuring, or ends the window, when it is time.
    /// Before [`Window::begin`] it asks for an unbounded poll (the caller
    /// bounds it with its own connect deadline).
    pub fn tick(&mut self, now: Instant, errors: u64) -> Next {
        let Some(warmup_since) = self.warmup_since else {
            return Next::Poll(Duration::MAX);
        };
        match self.measuring_since {
            None => {
                let warm_end = warmup_since + self.cfg.warmup;
                if now < warm_end {
                    return Next::Poll(warm_end - now);
                }
                if self.cfg.marks {
                    eprintln!("loadgen: measuring");
                }
                self.measuring_since = Some(now);
                self.msgs = 0;
                self.wire_bytes = 0;
                self.hist.clear();
                Next::Poll(self.cfg.duration)
            }
            Some(since) => {
                let end = since + self.cfg.duration;
                let enough = self.cfg.messages.is_some_and(|limit| self.msgs >= limit);
                if now < end && !enough {
                    return Next::Poll(end - now);
                }
                if self.cfg.marks {
                    eprintln!("loadgen: done");
                }
                Next::Done(Report {
                    msgs: self.msgs,
                    bytes: self.msgs * self.cfg.size as u64,
                    seconds: (now - since).as_secs_f64(),
                    p50_us: self.hist.quantile(0.50) / 1000.0,
                    p99_us: self.hist.quantile(0.99) / 1000.0,
                    errors,
                    wire_bytes: self.wire_bytes,
                })
            }
        }
    }
}
