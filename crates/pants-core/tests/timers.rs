//! Integration tests of the engine's timers, run through the engine's own
//! iteration API (begin_iteration, take expired timers, poll_io, end_iteration).

use std::thread;
use std::time::{Duration, Instant};

use pants_core::{Engine, TimerKey};

/// Runs iterations, polling with no limit of its own (the engine waits no
/// longer than its next timer), until `until` says stop; returns the fired
/// timer indices with the engine time at which each fired, and the number
/// of iterations.
fn run_timers(engine: &mut Engine, mut until: impl FnMut(&[(u32, u64)]) -> bool) -> (Vec<(u32, u64)>, usize) {
    let start = Instant::now();
    let mut fired = Vec::new();
    let mut iterations = 0;
    let mut out = [0u32; 4];
    loop {
        let now = engine.begin_iteration();
        loop {
            let count = engine.take_expired_timers(&mut out);
            if count == 0 {
                break;
            }
            fired.extend(out[..count].iter().map(|&index| (index, now)));
        }
        if until(&fired) {
            engine.end_iteration();
            return (fired, iterations);
        }
        assert!(start.elapsed() < Duration::from_secs(5), "timers did not fire: {fired:?}");
        engine.poll_io(Some(Duration::from_secs(1))).unwrap();
        engine.end_io_dispatch();
        engine.end_iteration();
        iterations += 1;
    }
}

fn indices(fired: &[(u32, u64)]) -> Vec<u32> {
    fired.iter().map(|&(index, _)| index).collect()
}

/// Timers fire in due order (equal deadlines in scheduling order), never before they are due.
#[test]
fn timers_fire_in_due_order_and_not_early() {
    let mut engine = Engine::new().unwrap();
    let scheduled_at = engine.begin_iteration();
    let plan = [60u64, 20, 40, 40, 0];
    let keys: Vec<TimerKey> = plan.iter().map(|&delay| engine.schedule_timer(delay)).collect();
    engine.end_iteration();
    assert_eq!(engine.timer_count(), plan.len());
    let (fired, _) = run_timers(&mut engine, |fired| fired.len() == plan.len());
    let expected: Vec<u32> = [4, 1, 2, 3, 0].iter().map(|&at: &usize| keys[at].index()).collect();
    assert_eq!(indices(&fired), expected);
    for &(index, at) in &fired {
        let delay = plan[keys.iter().position(|key| key.index() == index).unwrap()];
        assert!(at >= scheduled_at + delay, "timer {index} fired at {at}, due at {}", scheduled_at + delay);
        assert!(at <= scheduled_at + delay + 500, "timer {index} fired far too late: {at}");
    }
    assert_eq!(engine.timer_count(), 0);
    assert_eq!(engine.next_timer_delay(), None);
}

/// A cancelled timer never fires; cancelling twice, or long after firing, says false.
#[test]
fn cancelled_timer_never_fires() {
    let mut engine = Engine::new().unwrap();
    engine.begin_iteration();
    let first = engine.schedule_timer(10);
    let second = engine.schedule_timer(30);
    let third = engine.schedule_timer(20);
    assert!(engine.cancel_timer(first));
    assert!(!engine.cancel_timer(first), "second cancel");
    assert_eq!(engine.timer_count(), 2);
    engine.end_iteration();
    let (fired, _) = run_timers(&mut engine, |fired| fired.iter().any(|&(index, _)| index == second.index()));
    assert_eq!(indices(&fired), [third.index(), second.index()]);
    // One more iteration frees the fired timers' cells for good.
    run_timers(&mut engine, |_| true);
    assert!(!engine.cancel_timer(second), "cancel after firing");
    let again = engine.schedule_timer(5);
    assert!(!engine.cancel_timer(first), "a stale key does not cancel a newer timer in its cell");
    assert!(engine.cancel_timer(again));
    assert_eq!(engine.timer_count(), 0);
}

/// `next_timer_delay`: `None` without timers, never later than the earliest
/// deadline, shrinking as time passes, and good enough that iterations
/// polling without a limit of their own wake only a few times before a
/// 200 ms timer fires.
#[test]
fn next_timer_delay_is_sane() {
    let mut engine = Engine::new().unwrap();
    assert_eq!(engine.next_timer_delay(), None);
    let tick = engine.begin_iteration();
    let soon = engine.schedule_timer(200);
    let late = engine.schedule_timer(5_000);
    engine.end_iteration();
    let delay = engine.next_timer_delay().expect("a timer is pending");
    assert!(delay <= Duration::from_millis(200), "delay {delay:?} is later than the earliest deadline");
    thread::sleep(Duration::from_millis(50));
    let later = engine.next_timer_delay().unwrap();
    assert!(later + Duration::from_millis(49) <= delay, "delay went from {delay:?} to {later:?} after 50 ms");
    let (fired, iterations) = run_timers(&mut engine, |fired| !fired.is_empty());
    assert_eq!(fired[0].0, soon.index());
    assert!(fired[0].1 >= tick + 200);
    assert!(iterations < 20, "woke {iterations} times for one 200 ms timer");
    let remaining = engine.next_timer_delay().expect("the 5 s timer is pending");
    assert!(remaining <= Duration::from_millis(5_000 - 200), "remaining {remaining:?}");
    assert!(!remaining.is_zero());
    assert!(engine.cancel_timer(late));
    assert_eq!(engine.next_timer_delay(), None);
}

/// A timer scheduled between iterations is due relative to the latest
/// iteration's time (as libuv's cached loop time), not to the moment it is
/// scheduled: after an iteration that waited 30 ms for I/O, a 30 ms timer
/// scheduled outside the iteration is due by the next one.
#[test]
fn a_timer_scheduled_between_iterations_counts_from_the_latest_iteration() {
    let mut engine = Engine::new().unwrap();
    let started = engine.begin_iteration();
    engine.poll_io(Some(Duration::from_millis(30))).unwrap();
    engine.end_iteration();
    assert!(engine.elapsed_ms() >= started + 30);
    let key = engine.schedule_timer(30);
    assert_eq!(engine.time(), started, "engine time stays the iteration's between iterations");
    let (fired, iterations) = run_timers(&mut engine, |fired| !fired.is_empty());
    assert_eq!((indices(&fired), iterations), (vec![key.index()], 0), "due at the next iteration's start");
    // refresh_time moves engine time to now (a host whose loop turned).
    engine.refresh_time();
    assert!(engine.time() >= started + 30);
}

/// end_iteration says when the next iteration is due: ZERO once one was
/// requested or work waits, the next timer's delay, or None.
#[test]
fn end_iteration_reports_the_next_wake_up() {
    let mut engine = Engine::new().unwrap();
    engine.begin_iteration();
    assert_eq!(engine.end_iteration(), None);
    engine.begin_iteration();
    engine.schedule_timer(1_000);
    let next = engine.end_iteration().expect("a timer is pending");
    assert!(next > Duration::from_millis(900) && next <= Duration::from_millis(1_000), "{next:?}");
    engine.begin_iteration();
    engine.request_iteration();
    assert_eq!(engine.end_iteration(), Some(Duration::ZERO));
    assert!(!engine.needs_iteration(), "the request was answered by end_iteration");
    engine.request_iteration();
    assert!(engine.needs_iteration(), "outside an iteration a request needs the host");
}
