//! The seam between an engine and the loop it runs inside, as mio's `sys`
//! lists what each platform provides: what a host loop must do to run
//! engine iterations. Node's libuv loop provides it today ([`crate::uv`]);
//! a platform without a pollable poller (Windows) would provide it with a
//! helper thread waiting on the poller and a threadsafe function.

use std::time::Duration;

/// Wakes the JavaScript thread to run engine iterations. Each wake-up
/// calls the function given when the host was made.
pub trait HostLoop {
    /// Starts waking whenever the engine's poller has I/O for it.
    fn start(&self) -> std::io::Result<()>;

    /// Wakes once after `delay` (`ZERO`: on the loop's next turn, after
    /// the host's own pending work), replacing any earlier arming.
    fn arm(&self, delay: Duration);

    /// Stops every wake-up: the host may then exit if nothing else keeps it.
    fn stop(&self);

    /// The host loop's cached time in milliseconds: it moves when the loop
    /// turns, so a change means callbacks of the host have run since.
    fn loop_time(&self) -> u64;
}
