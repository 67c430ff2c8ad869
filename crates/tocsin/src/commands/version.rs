use crate::{BUILD, output};

/// Prints build information in Prometheus's layout, so scripts that parse
/// `prometheus --version` can parse ours.
pub(crate) fn print() {
    output::line(&format!(
        "tocsin, version {} (branch: {}, revision: {})",
        BUILD.version, BUILD.branch, BUILD.revision
    ));
    output::line(&format!("  build date:       {}", BUILD.build_date));
    output::line(&format!("  rust version:     {}", BUILD.rustc_version));
    output::line(&format!(
        "  platform:         {}/{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    ));
}
