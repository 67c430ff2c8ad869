/// What was built, shown by `tocsin version`, `/api/v1/status/buildinfo` and the
/// `tocsin_build_info` metric. The binary fills it from its build script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// Semantic version of the release.
    pub version: &'static str,
    /// Git commit, or `unknown` when built outside a checkout.
    pub revision: &'static str,
    /// Git branch, or `unknown`.
    pub branch: &'static str,
    /// UTC build date (`YYYYMMDD-HH:MM:SS`, Prometheus's format).
    pub build_date: &'static str,
    /// `rustc --version` of the compiler.
    pub rustc_version: &'static str,
}
