//! tocsin's web UI: static pages (plain ES modules, CSS, one HTML shell) embedded in the
//! binary at build time, so the UI works offline and needs no build step or CDN. The HTTP
//! layer (`tocsin-api`) serves them under `/ui/`; this crate only answers "which bytes, of
//! what type, with what validator" for a path.

use std::borrow::Cow;

use rust_embed::RustEmbed;

/// The files under `assets/`, compressed into the binary (the `compression` feature) and
/// inflated on first use.
#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// One embedded file, ready to serve.
#[derive(Debug, Clone)]
pub struct Asset {
    /// The file's bytes.
    pub body: Cow<'static, [u8]>,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Strong validator: a quoted hex SHA-256 of the content, computed at build time.
    pub etag: String,
}

/// The page served for `/ui/` itself.
pub const INDEX: &str = "index.html";

/// Looks up the file at `path` (relative to `/ui/`, no leading slash; empty for the index).
/// `None` for anything not embedded, including paths that try to climb out (`..`), which
/// `rust-embed` never matches because it keys files by their relative path.
pub fn asset(path: &str) -> Option<Asset> {
    let path = if path.is_empty() { INDEX } else { path };
    let content_type = content_type(path)?;
    let file = Assets::get(path)?;
    let hash = file.metadata.sha256_hash();
    let mut etag = String::with_capacity(2 + hash.len() * 2);
    etag.push('"');
    for byte in hash {
        etag.push(hex_digit(byte >> 4));
        etag.push(hex_digit(byte & 0xf));
    }
    etag.push('"');
    Some(Asset {
        body: file.data,
        content_type,
        etag,
    })
}

/// Paths of every embedded file, sorted (for tests and diagnostics).
pub fn paths() -> Vec<String> {
    let mut all: Vec<String> = Assets::iter().map(|p| p.into_owned()).collect();
    all.sort();
    all
}

/// Content types by extension. Only the kinds of file the UI ships: an unknown extension is
/// not served at all rather than guessed, so a stray file cannot be sniffed into something
/// executable.
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.').map(|(_, ext)| ext)?;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        _ => return None,
    })
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_embedded_as_html() {
        let index = asset("").expect("index embedded");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        let text = std::str::from_utf8(&index.body).expect("utf-8");
        assert!(
            text.contains("<script type=\"module\" src=\"app.js\">"),
            "{text}"
        );
        assert_eq!(asset(INDEX).map(|a| a.etag), Some(index.etag));
    }

    #[test]
    fn every_asset_has_a_known_type_and_a_distinct_etag() {
        let all = paths();
        assert!(all.len() >= 5, "{all:?}");
        let mut etags = std::collections::BTreeSet::new();
        for path in &all {
            let asset = asset(path).unwrap_or_else(|| panic!("{path} has no content type"));
            assert!(asset.etag.starts_with('"') && asset.etag.ends_with('"'));
            assert_eq!(asset.etag.len(), 66, "{path}");
            assert!(etags.insert(asset.etag), "{path} shares an etag");
        }
    }

    #[test]
    fn unknown_and_escaping_paths_are_absent() {
        for path in [
            "nope.js",
            "../Cargo.toml",
            "src/lib.rs",
            "/index.html",
            "app",
        ] {
            assert!(asset(path).is_none(), "{path}");
        }
    }

    fn text_of(path: &str) -> String {
        String::from_utf8(asset(path).expect(path).body.into_owned()).expect("utf-8")
    }

    #[test]
    fn every_nav_entry_is_routed_and_every_page_module_is_embedded() {
        // A nav link without a route lands on "Not found"; an import of a file that is not
        // embedded breaks every page (the module graph fails to load).
        let index = text_of(INDEX);
        let app = text_of("app.js");
        let pages: Vec<&str> = index
            .split("data-page=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        for page in [
            "overview",
            "alerts",
            "incidents",
            "oncall",
            "reports",
            "query",
        ] {
            assert!(pages.contains(&page), "nav lacks {page}: {pages:?}");
        }
        for page in pages.iter().filter(|p| **p != "overview") {
            assert!(
                app.contains(&format!("page === \"{page}\"")),
                "app.js has no route for {page}"
            );
        }
        for module in app
            .split("from \"./")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
        {
            assert!(
                asset(module).is_some(),
                "app.js imports {module}, not embedded"
            );
        }
    }

    #[test]
    fn no_asset_reaches_outside_the_origin() {
        // The UI must work offline and under `default-src 'self'`: no absolute URLs to other
        // hosts and no inline handlers in what we ship.
        for path in paths() {
            let body = asset(&path).expect("listed");
            // The SVG namespace is an identifier, never fetched.
            let text =
                String::from_utf8_lossy(&body.body).replace("http://www.w3.org/2000/svg", "");
            for bad in [
                "http://",
                "https://",
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "onclick=",
                "eval(",
            ] {
                assert!(!text.contains(bad), "{path} contains {bad}");
            }
        }
    }
}
