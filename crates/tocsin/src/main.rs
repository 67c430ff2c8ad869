//! The `tocsin` binary. Everything happens in the library so it can be tested.

// Queries allocate many small label strings and sample buffers; glibc's malloc spent about a
// third of query time in bench/compare-query.sh, mimalloc a small fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tocsin::main()
}
