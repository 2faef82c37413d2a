//! Link settings for the `storywatch` binary.
//!
//! On Linux with glibc, the binary is linked with packed relative relocations
//! (`-z pack-relative-relocs`, DT_RELR) when the toolchain and the C library
//! here support them. Without them a position-independent Rust binary carries
//! about a megabyte of relocation records, which the dynamic loader reads at
//! every start and which then stay in the process's resident set: most of a
//! warm poll's memory is code and such mapped pages (README Benchmarks).
//! Where the probe fails (an older linker or glibc, a cross build), the
//! binary is linked as before.

use std::env;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let native = env::var("TARGET").ok() == env::var("HOST").ok();
    if target_os == "linux" && target_env == "gnu" && native && packs_relocations() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Links and runs a tiny C program with the flag: the linker must accept it
/// and the loader here must run what it made.
fn packs_relocations() -> bool {
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let probe = out.join("relr-probe");
    // rustc links through `cc` unless a linker is configured, which cargo
    // then passes to build scripts as RUSTC_LINKER.
    let linker = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_string());
    let mut cc = match Command::new(&linker)
        .args(["-x", "c", "-", "-o"])
        .arg(&probe)
        .arg("-Wl,-z,pack-relative-relocs")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => return false,
    };
    if let Some(mut stdin) = cc.stdin.take() {
        use std::io::Write;
        if stdin.write_all(b"int main(void) { return 0; }\n").is_err() {
            return false;
        }
    }
    if !cc.wait().is_ok_and(|s| s.success()) {
        return false;
    }
    Command::new(&probe).status().is_ok_and(|s| s.success())
}
