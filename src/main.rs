//! The `storywatch` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    storywatch::cli::main()
}
