//! glibc malloc settings for a process that is left running for months.
//!
//! glibc gives each thread that allocates under contention its own arena
//! and keeps up to a few MiB free in each. A poll allocates on the runtime's
//! workers, parses on the blocking pool and frees on the store writer, so a
//! cold poll at N = 1,000 ended with six arenas of 1.4–2.4 MiB, about half of
//! its anonymous memory. One arena, and large buffers (feed bodies) in their
//! own mappings given back when freed, took the cold poll's peak from about
//! 24 to 20 MiB (git history has the runs and their cost in time).
//!
//! Anyone who tunes malloc themselves keeps their setting: a value given
//! through `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`,
//! `MALLOC_TRIM_THRESHOLD_` or `GLIBC_TUNABLES` is left alone.

/// One arena for all threads.
pub const ARENA_MAX: i32 = 1;
/// Allocations from 256 KiB up (a feed body, a page) get their own mapping.
pub const MMAP_THRESHOLD: i32 = 256 * 1024;
/// Free memory at the top of the heap beyond 512 KiB goes back to the kernel.
pub const TRIM_THRESHOLD: i32 = 512 * 1024;

/// One malloc parameter and the environment variable that overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    ArenaMax(i32),
    MmapThreshold(i32),
    TrimThreshold(i32),
}

impl Setting {
    /// The glibc environment variable that sets the same parameter.
    pub fn env_var(self) -> &'static str {
        match self {
            Setting::ArenaMax(_) => "MALLOC_ARENA_MAX",
            Setting::MmapThreshold(_) => "MALLOC_MMAP_THRESHOLD_",
            Setting::TrimThreshold(_) => "MALLOC_TRIM_THRESHOLD_",
        }
    }
}

/// The settings to apply, given a way to read the environment: none when
/// `GLIBC_TUNABLES` is set (it can name any of them), otherwise each one
/// whose own variable is unset.
pub fn settings(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<Setting> {
    if env("GLIBC_TUNABLES").is_some() {
        return Vec::new();
    }
    [
        Setting::ArenaMax(ARENA_MAX),
        Setting::MmapThreshold(MMAP_THRESHOLD),
        Setting::TrimThreshold(TRIM_THRESHOLD),
    ]
    .into_iter()
    .filter(|s| env(s.env_var()).is_none())
    .collect()
}

/// Applies [`settings`] for this process's environment. Call it first in
/// `main`, before any thread is started. A no-op off glibc, whose
/// allocators size themselves differently.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    for s in settings(|name| std::env::var_os(name)) {
        let (param, value) = match s {
            Setting::ArenaMax(v) => (libc::M_ARENA_MAX, v),
            Setting::MmapThreshold(v) => (libc::M_MMAP_THRESHOLD, v),
            Setting::TrimThreshold(v) => (libc::M_TRIM_THRESHOLD, v),
        };
        // SAFETY: mallopt only changes allocator parameters; the values are
        // in the ranges glibc documents, and it takes its own lock.
        unsafe {
            libc::mallopt(param, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(*v))
        }
    }

    #[test]
    fn all_three_apply_on_a_clean_environment() {
        assert_eq!(
            settings(env_of(&[])),
            vec![
                Setting::ArenaMax(1),
                Setting::MmapThreshold(256 * 1024),
                Setting::TrimThreshold(512 * 1024),
            ]
        );
    }

    #[test]
    fn a_variable_the_user_set_wins_over_ours() {
        assert_eq!(
            settings(env_of(&[("MALLOC_ARENA_MAX", "4")])),
            vec![
                Setting::MmapThreshold(256 * 1024),
                Setting::TrimThreshold(512 * 1024),
            ]
        );
        assert_eq!(
            settings(env_of(&[
                ("MALLOC_MMAP_THRESHOLD_", "131072"),
                ("MALLOC_TRIM_THRESHOLD_", "0"),
            ])),
            vec![Setting::ArenaMax(1)]
        );
    }

    #[test]
    fn glibc_tunables_leave_malloc_alone() {
        assert!(settings(env_of(&[("GLIBC_TUNABLES", "glibc.malloc.arena_max=8")])).is_empty());
    }
}
