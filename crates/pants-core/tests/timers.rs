//! Integration tests of the engine's timers, run the way the binding runs
//! them (begin_iteration, take expired timers, poll until the next one).

use std::thread;
use std::time::{Duration, Instant};

use pants_core::Engine;

/// Runs timer iterations the way the binding does (begin_iteration, take
/// expired timers, poll no longer than the next timer) until `until` says
/// stop; returns the fired ids with the engine time at which each fired.
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
            fired.extend(out[..count].iter().map(|&id| (id, now)));
        }
        if until(&fired) {
            return (fired, iterations);
        }
        assert!(start.elapsed() < Duration::from_secs(5), "timers did not fire: {fired:?}");
        let timeout = engine.next_timer_delay().map(Duration::from_millis).unwrap_or(Duration::from_millis(50));
        engine.poll(Some(timeout)).unwrap();
        iterations += 1;
    }
}

/// Timers fire in due order (equal deadlines in scheduling order), never before they are due.
#[test]
fn timers_fire_in_due_order_and_not_early() {
    let mut engine = Engine::new().unwrap();
    let scheduled_at = engine.begin_iteration();
    let plan = [(3u32, 60u64), (1, 20), (2, 40), (4, 40), (0, 0)];
    for &(id, delay) in &plan {
        engine.schedule_timer(delay, id);
    }
    assert_eq!(engine.timer_count(), plan.len());
    let (fired, _) = run_timers(&mut engine, |fired| fired.len() == plan.len());
    let order: Vec<u32> = fired.iter().map(|&(id, _)| id).collect();
    assert_eq!(order, [0, 1, 2, 4, 3]);
    for &(id, at) in &fired {
        let delay = plan.iter().find(|&&(planned, _)| planned == id).unwrap().1;
        assert!(at >= scheduled_at + delay, "timer {id} fired at {at}, due at {}", scheduled_at + delay);
        assert!(at <= scheduled_at + delay + 500, "timer {id} fired far too late: {at}");
    }
    assert_eq!(engine.timer_count(), 0);
    assert_eq!(engine.next_timer_delay(), None);
}

/// A cancelled timer never fires; cancelling twice, or after firing, says false.
#[test]
fn cancelled_timer_never_fires() {
    let mut engine = Engine::new().unwrap();
    engine.begin_iteration();
    engine.schedule_timer(10, 7);
    engine.schedule_timer(30, 8);
    engine.schedule_timer(20, 9);
    assert!(engine.cancel_timer(7));
    assert!(!engine.cancel_timer(7), "second cancel");
    assert!(!engine.cancel_timer(12345), "never scheduled");
    assert_eq!(engine.timer_count(), 2);
    let (fired, _) = run_timers(&mut engine, |fired| fired.iter().any(|&(id, _)| id == 8));
    let ids: Vec<u32> = fired.iter().map(|&(id, _)| id).collect();
    assert_eq!(ids, [9, 8]);
    assert!(!engine.cancel_timer(8), "cancel after firing");
    // The id can be scheduled again and cancelled again.
    engine.schedule_timer(5, 7);
    assert!(engine.cancel_timer(7));
    assert_eq!(engine.timer_count(), 0);
}

/// `next_timer_delay`: `None` without timers, never later than the earliest
/// deadline, shrinking as time passes, and good enough that a loop sleeping
/// on it wakes only a few times before a 200 ms timer fires.
#[test]
fn next_timer_delay_is_sane() {
    let mut engine = Engine::new().unwrap();
    assert_eq!(engine.next_timer_delay(), None);
    let tick = engine.begin_iteration();
    engine.schedule_timer(200, 1);
    engine.schedule_timer(5_000, 2);
    let delay = engine.next_timer_delay().expect("a timer is pending");
    assert!(delay <= 200, "delay {delay} is later than the earliest deadline");
    thread::sleep(Duration::from_millis(50));
    let later = engine.next_timer_delay().unwrap();
    assert!(later + 49 <= delay, "delay went from {delay} to {later} after 50 ms");
    let (fired, iterations) = run_timers(&mut engine, |fired| !fired.is_empty());
    assert_eq!(fired[0].0, 1);
    assert!(fired[0].1 >= tick + 200);
    assert!(iterations < 20, "woke {iterations} times for one 200 ms timer");
    let remaining = engine.next_timer_delay().expect("the 5 s timer is pending");
    assert!(remaining <= 5_000 - 200, "remaining {remaining}");
    assert!(remaining > 0);
    assert!(engine.cancel_timer(2));
    assert_eq!(engine.next_timer_delay(), None);
}
