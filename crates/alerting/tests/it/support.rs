//! Reaching reference tools (the pattern of crates/tocsin/tests/it/support.rs).

use std::path::PathBuf;

/// A reference tool from Debian's packages. Tests that compare against it run when it is
/// installed; CI sets TOCSIN_REQUIRE_REFERENCE_TOOLS=1 so a missing tool fails instead of
/// skipping.
#[allow(
    clippy::print_stderr,
    reason = "tests tell the runner's output why they skipped"
)]
pub fn reference_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("TOCSIN_REQUIRE_REFERENCE_TOOLS").is_none(),
            "{name} is required (TOCSIN_REQUIRE_REFERENCE_TOOLS is set) but not installed; \
             .ci/run installs it with apt-get"
        );
        eprintln!("SKIPPED: {name} not installed (apt-get install it to run this comparison)");
    }
    found
}
