//! Running a child process while measuring it: peak resident memory read
//! from /proc (VmHWM, the kernel's high-water mark for the process since
//! exec, sampled every 5 ms while it runs), wall time, and a deadline after
//! which it is killed. (wait4's ru_maxrss is no use here: it counts the
//! moment between fork and exec, when the child still maps the test's own
//! memory.)

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Measured {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
    /// The last VmHWM read from /proc before exit, in KiB.
    pub peak_rss_kib: u64,
    /// Killed at the deadline.
    pub timed_out: bool,
}

/// VmHWM of a live process, in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `cmd` to completion (or `deadline`), sampling its memory.
pub fn measure(mut cmd: Command, deadline: Duration) -> Measured {
    let start = Instant::now();
    let mut child: Child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("child starts");
    let pid = child.id();
    // Drain the pipes on threads so a chatty child never blocks on them.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut hwm = 0;
    let mut timed_out = false;
    let status = loop {
        if let Some(k) = vm_hwm_kib(pid) {
            hwm = hwm.max(k);
        }
        let mut status = 0;
        // SAFETY: pid is our child; status is a plain int.
        let r = unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
        if r == pid as i32 {
            break status;
        }
        if !timed_out && start.elapsed() > deadline {
            timed_out = true;
            // SAFETY: pid is our unreaped child.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = start.elapsed();
    // The child is reaped; std must not wait for it again.
    std::mem::forget(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured {
        code,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
        wall,
        peak_rss_kib: hwm,
        timed_out,
    }
}
