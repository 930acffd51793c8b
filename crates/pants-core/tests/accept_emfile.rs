//! Accepting when the process is out of file descriptors (EMFILE).
//!
//! In a test binary of its own: it lowers RLIMIT_NOFILE, which is
//! process-wide, and must not starve tests running in parallel threads.

mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use pants_core::{Engine, EventKind};
use support::*;

const CLIENTS: usize = 6;

fn highest_open_fd() -> i32 {
    std::fs::read_dir("/proc/self/fd").unwrap().filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok()).max().unwrap()
}

/// Six clients wait in the backlog; the process may open only two more
/// descriptors. The engine accepts two, then reports `AcceptError(EMFILE)`.
/// Each accepted stream is closed at once, freeing its descriptor: the
/// listener must then accept the others on its own ("the listener retries on
/// its own", says `EventKind::AcceptError`), without a new client arriving.
#[test]
fn listener_accepts_the_backlog_after_emfile_once_descriptors_are_free() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let clients: Vec<TcpStream> = (0..CLIENTS).map(|_| std_client(address)).collect();

    let mut saved = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut saved) }, 0);
    let lowered = libc::rlimit { rlim_cur: (highest_open_fd() + 3) as libc::rlim_t, rlim_max: saved.rlim_max };
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0, "lower RLIMIT_NOFILE");
    struct Restore(libc::rlimit);
    impl Drop for Restore {
        fn drop(&mut self) {
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.0) };
        }
    }
    let restore = Restore(saved);
    // Fill the free descriptor numbers below the limit (there may be holes)
    // so that exactly two are left.
    let mut filler = Vec::new();
    loop {
        let fd = unsafe { libc::dup(0) };
        if fd < 0 {
            assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::EMFILE));
            break;
        }
        filler.push(fd);
    }
    assert!(filler.len() >= 2, "the lowered limit leaves {} descriptors", filler.len());
    for fd in filler.split_off(filler.len() - 2) {
        unsafe { libc::close(fd) };
    }

    let mut accepted = 0;
    let mut emfile = 0;
    let mut closed = 0;
    let deadline = Instant::now() + Duration::from_secs(2);
    drive(&mut engine, "every client accepted", TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Accept => {
                    assert_eq!(event.token, listener);
                    accepted += 1;
                    engine.close(event.a as usize, false);
                }
                EventKind::AcceptError => {
                    assert_eq!(event.token, listener);
                    assert_eq!(event.a, libc::EMFILE, "AcceptError's errno");
                    emfile += 1;
                }
                EventKind::Close => {
                    engine.release(event.token);
                    closed += 1;
                }
                _ => panic!("unexpected event {event:?}"),
            }
        }
        closed == CLIENTS || Instant::now() > deadline
    });
    drop(restore);
    for fd in filler {
        unsafe { libc::close(fd) };
    }
    drop(clients);
    assert!(emfile > 0, "the descriptor limit was never hit: the test set-up is wrong");
    assert_eq!(accepted, CLIENTS, "clients accepted within 2 s ({emfile} AcceptError(EMFILE))");
}
