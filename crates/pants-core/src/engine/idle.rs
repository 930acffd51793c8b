//! Streams' idle timeouts: one timer per stream in the clock's idle wheel,
//! stamped by activity and checked when due.

use std::io;

use super::Engine;
use crate::channel::Channel;
use crate::errors::not_a_stream;
use crate::event::EventKind;
use crate::stream::StreamState;

impl Engine {
    /// Sets a stream's idle timeout in milliseconds (0: none): after that
    /// long without a byte read or written, a `Timeout` event. Each idle
    /// stretch raises one. The time counts from now.
    pub fn set_timeout(&mut self, token: usize, timeout_ms: u64) -> io::Result<()> {
        self.set_idle_timeout(token, timeout_ms, false)
    }

    /// As [`Engine::set_timeout`], but only bytes received count as activity:
    /// a `Timeout` follows `timeout_ms` without any, whatever the stream sent
    /// meanwhile (a WebSocket's pings and idle timeout).
    pub fn set_read_timeout(&mut self, token: usize, timeout_ms: u64) -> io::Result<()> {
        self.set_idle_timeout(token, timeout_ms, true)
    }

    fn set_idle_timeout(&mut self, token: usize, timeout_ms: u64, reads_only: bool) -> io::Result<()> {
        let now = self.clock.time();
        let stream = self.channels.get_mut(token).and_then(Channel::stream_mut).ok_or_else(not_a_stream)?;
        if let Some(key) = stream.idle.key.take() {
            self.clock.cancel_idle(key);
        }
        stream.idle.timeout = timeout_ms;
        stream.idle.reads_only = reads_only;
        stream.idle.last_active = now;
        stream.idle.reported_for = None;
        if timeout_ms > 0 {
            stream.idle.key = Some(self.clock.schedule_idle(now + timeout_ms, token));
        }
        Ok(())
    }

    /// Runs the streams' idle timers due now: each is scheduled again for
    /// the rest of its timeout when its stream was active meanwhile, else
    /// raises `Timeout` (once per idle stretch) and checks again a timeout later.
    pub(super) fn run_idle_timers(&mut self) {
        let mut due = std::mem::take(&mut self.idle_due);
        self.clock.take_idle_expired(&mut due);
        let now = self.clock.time();
        for (key, token) in due.drain(..) {
            let Some(stream) = self.channels.get_mut(token).and_then(Channel::stream_mut) else { continue };
            if stream.idle.key != Some(key) {
                continue;
            }
            stream.idle.key = None;
            if stream.state() != StreamState::Open || stream.idle.timeout == 0 {
                continue;
            }
            let idle = &mut stream.idle;
            let deadline = idle.last_active + idle.timeout;
            let next = if now < deadline {
                deadline
            } else {
                if idle.reported_for != Some(idle.last_active) {
                    idle.reported_for = Some(idle.last_active);
                    self.reactor.report(EventKind::Timeout, token);
                }
                now + idle.timeout
            };
            stream.idle.key = Some(self.clock.schedule_idle(next, token));
        }
        self.idle_due = due;
    }
}
