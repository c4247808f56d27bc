//! Spawning and reaping a consumer with the kernel's account of it (`wait4`'s rusage: CPU seconds
//! and peak RSS of that one process), with a watchdog. std's `Child::wait` drops the rusage, so
//! the few libc calls it does not expose live here, in one `unsafe` corner.

use std::os::raw::c_int;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::Result;

pub(super) use sys::{SIGINT, SIGTERM};

/// The kernel's account of one child process.
pub(super) struct Measured {
    pub wall: Duration,
    pub cpu: Duration,
    pub max_rss_kib: u64,
    pub success: bool,
    pub status: String,
    /// Killed by the watchdog.
    pub timed_out: bool,
}

/// Runs `cmd` to its end: wall time from spawn to exit, and its own `rusage` (user + system CPU,
/// peak RSS). Killed after `timeout`.
pub(super) fn measure(cmd: &mut Command, timeout: Duration) -> Result<Measured> {
    let started = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", cmd.get_program().to_string_lossy()))?;
    let pid = child.id();
    // `child` is reaped by `wait_measured`, never by `Child::wait`.
    drop(child);
    wait_measured(pid, started, timeout)
}

/// Sends `signal` to child `pid`, which must not have been reaped yet (so that its pid cannot
/// have been reused).
pub(super) fn send_signal(pid: u32, signal: c_int) {
    unsafe {
        sys::kill(pid as i32, signal);
    }
}

/// Waits for child `pid` to exit (SIGKILL after `timeout`), then reaps it with its rusage.
pub(super) fn wait_measured(pid: u32, started: Instant, timeout: Duration) -> Result<Measured> {
    // A watchdog kills the child if it outlives the timeout. It runs only while the child has
    // not been reaped (waitid WNOWAIT leaves it a zombie), so its pid cannot have been reused.
    let done = Arc::new((Mutex::new(false), Condvar::new()));
    let killed = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        let killed = killed.clone();
        std::thread::spawn(move || {
            let (lock, cvar) = &*done;
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            let (guard, result) = cvar
                .wait_timeout_while(guard, timeout, |done| !*done)
                .unwrap_or_else(|e| e.into_inner());
            if result.timed_out() && !*guard {
                killed.store(true, Ordering::SeqCst);
                send_signal(pid, sys::SIGKILL);
            }
        })
    };
    let mut info = sys::SigInfo([0; 128]);
    loop {
        let r = unsafe { sys::waitid(sys::P_PID, pid, &mut info, sys::WEXITED | sys::WNOWAIT) };
        if r == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("waiting for process {pid}: {err}"));
        }
    }
    let wall = started.elapsed();
    {
        let (lock, cvar) = &*done;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }
    let _ = watchdog.join();
    let mut status = 0;
    let mut usage = sys::Rusage::default();
    let r = unsafe { sys::wait4(pid as i32, &mut status, 0, &mut usage) };
    if r != pid as i32 {
        return Err(format!(
            "reaping process {pid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let tv = |t: &sys::Timeval| Duration::from_micros((t.sec as u64) * 1_000_000 + t.usec as u64);
    let signal = status & 0x7f;
    let code = (status >> 8) & 0xff;
    Ok(Measured {
        wall,
        cpu: tv(&usage.utime) + tv(&usage.stime),
        max_rss_kib: usage.maxrss as u64,
        success: signal == 0 && code == 0,
        status: if signal != 0 {
            format!("killed by signal {signal}")
        } else {
            format!("exit status {code}")
        },
        timed_out: killed.load(Ordering::SeqCst),
    })
}

/// The few libc calls std does not expose (Linux, 64-bit layouts).
mod sys {
    use std::os::raw::{c_int, c_long, c_uint};

    #[repr(C)]
    #[derive(Default)]
    pub struct Timeval {
        pub sec: c_long,
        pub usec: c_long,
    }

    #[repr(C)]
    #[derive(Default)]
    pub struct Rusage {
        pub utime: Timeval,
        pub stime: Timeval,
        /// Peak resident set size, KiB.
        pub maxrss: c_long,
        pub rest: [c_long; 13],
    }

    /// `siginfo_t` is 128 bytes; we never read it.
    #[repr(C, align(8))]
    pub struct SigInfo(pub [u8; 128]);

    pub const P_PID: c_int = 1;
    pub const WEXITED: c_int = 4;
    pub const WNOWAIT: c_int = 0x0100_0000;
    pub const SIGINT: c_int = 2;
    pub const SIGKILL: c_int = 9;
    pub const SIGTERM: c_int = 15;

    extern "C" {
        pub fn waitid(idtype: c_int, id: c_uint, infop: *mut SigInfo, options: c_int) -> c_int;
        pub fn wait4(pid: c_int, status: *mut c_int, options: c_int, usage: *mut Rusage) -> c_int;
        pub fn kill(pid: c_int, sig: c_int) -> c_int;
    }
}
