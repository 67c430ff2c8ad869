//! The `tocsin` binary. Everything happens in the library so it can be tested.

// Queries allocate many small label strings and sample buffers; glibc's malloc spent about a
// third of query time in bench/compare-query.sh, mimalloc a small fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // mimalloc asks for transparent huge pages on its arenas; the kernel then zeroes 2 MiB on
    // the first touch of any small page in it. In an alert storm that zeroing was 45% of the
    // CPU (bench/alert-storm.sh), and partly used huge pages count whole in RSS.
    // Failing (a kernel without the prctl) only leaves the kernel's default in place.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    tocsin::main()
}
