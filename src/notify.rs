//! systemd's notification protocol through the `sd-notify` crate: `READY=1`,
//! `STATUS=…`, `WATCHDOG=1`, `RELOADING=1`, `STOPPING=1` to
//! `$NOTIFY_SOCKET`. Without that variable every call is a no-op, so the
//! service runs the same outside systemd.

use std::time::Duration;

use sd_notify::NotifyState;

/// Where notifications go, if anywhere, and how often the watchdog wants one.
#[derive(Debug)]
pub struct Notifier {
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `$WATCHDOG_USEC` (honouring `$WATCHDOG_PID` when it names
    /// another process); `$NOTIFY_SOCKET` is read at each notification.
    pub fn from_env() -> Notifier {
        Notifier {
            watchdog: sd_notify::watchdog_enabled().filter(|w| !w.is_zero()),
        }
    }

    /// How often `WATCHDOG=1` must be sent: half the watchdog interval.
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    fn send(&self, state: NotifyState<'_>) {
        self.send_all(&[state]);
    }

    fn send_all(&self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(states) {
            tracing::debug!(error = %e, "cannot notify systemd");
        }
    }

    pub fn ready(&self) {
        self.send(NotifyState::Ready);
    }

    pub fn status(&self, line: &str) {
        self.send(NotifyState::Status(&line.replace('\n', " ")));
    }

    pub fn watchdog(&self) {
        if self.watchdog.is_some() {
            self.send(NotifyState::Watchdog);
        }
    }

    /// `RELOADING=1` with the clock reading systemd 253 and later ask for;
    /// `READY=1` follows once the new config is in use.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send_all(&[NotifyState::Reloading, now]),
            Err(_) => self.send(NotifyState::Reloading),
        }
    }

    pub fn stopping(&self) {
        self.send(NotifyState::Stopping);
    }
}
