//! Link settings for the `storywatch` binary, each applied only where a probe
//! shows the toolchain here supports it; otherwise the binary links as before.
//!
//! - Packed relative relocations (`-z pack-relative-relocs`, DT_RELR), on
//!   Linux with glibc. Without them a position-independent Rust binary
//!   carries about a megabyte of relocation records, which the dynamic loader
//!   reads at every start and which then stay in the process's resident set.
//! - In release builds, the functions a poll runs laid out together, in the
//!   order `link/symbol-order.txt` lists them (written by
//!   `benches/link-order.sh` from callgrind runs of a cold and a warm poll).
//!   A poll runs about a third of the code, but scattered over the file it
//!   made the kernel map nine tenths of it, 64 KiB around each first call.
//!   This takes lld's `--symbol-ordering-file`: Rust's own lld, which rustc
//!   ships beside itself, unless a linker of the user's is configured.
//!
//! The names in that list carry hashes that change with the crate's version,
//! its dependencies and the toolchain. A stale list still links, but maps
//! more code (1.5 MiB more after one new dependency), so the list's first
//! line records a fingerprint of Cargo.toml, Cargo.lock and `rustc -vV`, and
//! a build whose fingerprint differs says so in a warning.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ORDER_FILE: &str = "link/symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
    check_order_inputs();
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let native = env::var("TARGET").ok() == env::var("HOST").ok();
    if !(target_os == "linux" && target_env == "gnu" && native) {
        return;
    }
    if links_and_runs(&["-Wl,-z,pack-relative-relocs".into()]) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if env::var("PROFILE").as_deref() == Ok("release") {
        for arg in ordering_args().unwrap_or_default() {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
}

/// Writes this build's fingerprint to `$OUT_DIR/link-inputs` (where
/// `benches/link-order.sh` reads it) and warns when the symbol order was
/// written for another one.
fn check_order_inputs() {
    let (Some(dir), Some(out)) = (env::var_os("CARGO_MANIFEST_DIR"), env::var_os("OUT_DIR")) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let Some(now) = fingerprint(&dir) else {
        return;
    };
    let _ = std::fs::write(PathBuf::from(out).join("link-inputs"), &now);
    let Ok(order) = std::fs::read_to_string(dir.join(ORDER_FILE)) else {
        return;
    };
    let recorded = order
        .lines()
        .next()
        .and_then(|l| l.strip_prefix(INPUTS_PREFIX))
        .unwrap_or("none");
    if recorded.trim() != now {
        println!(
            "cargo:warning={ORDER_FILE} was written for other dependencies or another toolchain \
             (fingerprint {recorded}, now {now}); release binaries map more code than they need \
             until benches/link-order.sh rewrites it"
        );
    }
}

/// The first line of the symbol order, before the fingerprint.
const INPUTS_PREFIX: &str = "# inputs ";

/// FNV-1a over Cargo.toml, Cargo.lock and `rustc -vV`: what the symbol
/// names' hashes depend on, give or take a comment in Cargo.toml.
fn fingerprint(dir: &Path) -> Option<String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(rustc)
        .arg("-vV")
        .output()
        .ok()
        .filter(|o| o.status.success())?
        .stdout;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        std::fs::read(dir.join("Cargo.toml")).ok()?,
        std::fs::read(dir.join("Cargo.lock")).ok()?,
        version,
    ] {
        for byte in part.iter().chain(&[0xff]) {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Some(format!("{hash:016x}"))
}

/// The arguments that make `cc` link through rustc's lld with the symbol
/// order, if a probe links and runs with them.
fn ordering_args() -> Option<Vec<String>> {
    if env::var_os("RUSTC_LINKER").is_some() {
        return None; // the user chose the linker
    }
    let order = Path::new(&env::var_os("CARGO_MANIFEST_DIR")?).join(ORDER_FILE);
    if !order.is_file() {
        return None;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let sysroot = PathBuf::from(String::from_utf8(sysroot.stdout).ok()?.trim());
    let gcc_ld = sysroot
        .join("lib/rustlib")
        .join(env::var("TARGET").ok()?)
        .join("bin/gcc-ld");
    if !gcc_ld.join("ld.lld").is_file() {
        return None;
    }
    let args = vec![
        format!("-B{}", gcc_ld.to_str()?),
        "-fuse-ld=lld".to_string(),
        format!("-Wl,--symbol-ordering-file={}", order.to_str()?),
        // Names the code no longer has are skipped without a word.
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ];
    links_and_runs(&args).then_some(args)
}

/// Links a tiny C program with `args` and runs it: the linker must accept
/// them and the loader here must run what it made.
fn links_and_runs(args: &[String]) -> bool {
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let probe = out.join("link-probe");
    // rustc links through `cc` unless a linker is configured, which cargo
    // then passes to build scripts as RUSTC_LINKER.
    let linker = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_string());
    let mut cc = match Command::new(&linker)
        .args(["-x", "c", "-", "-o"])
        .arg(&probe)
        .args(args)
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
