//! The `storywatch` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    // Before the runtime starts any thread (see `allocator`).
    storywatch::allocator::tune();
    storywatch::cli::main()
}
