//! The `tocsin` binary. Everything happens in the library so it can be tested.

fn main() -> std::process::ExitCode {
    tocsin::main()
}
