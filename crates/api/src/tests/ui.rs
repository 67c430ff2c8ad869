//! `/ui/`: embedded assets with their content types, validators, caching and CSP.

use super::*;

const ASSETS: &[(&str, &str)] = &[
    ("/ui/", "text/html; charset=utf-8"),
    ("/ui/app.js", "text/javascript; charset=utf-8"),
    ("/ui/dom.js", "text/javascript; charset=utf-8"),
    ("/ui/alerts.js", "text/javascript; charset=utf-8"),
    ("/ui/chart.js", "text/javascript; charset=utf-8"),
    ("/ui/style.css", "text/css; charset=utf-8"),
    ("/ui/favicon.svg", "image/svg+xml"),
];

#[tokio::test]
async fn assets_are_served_with_type_etag_caching_and_csp() {
    let h = harness("{}");
    for (path, content_type) in ASSETS {
        let (status, headers, body) = call(&h.app, get(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], *content_type, "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        let etag = headers[header::ETAG].to_str().unwrap();
        assert_eq!(etag.len(), 66, "{path}: {etag}");
        assert!(!body.is_empty(), "{path}");
    }
    let (_, _, index) = call(&h.app, get("/ui/")).await;
    assert!(index.contains("<script type=\"module\" src=\"app.js\">"));
}

#[tokio::test]
async fn matching_etag_gets_304_without_body_and_a_stale_one_gets_the_file() {
    let h = harness("{}");
    let (_, headers, body) = call(&h.app, get("/ui/app.js")).await;
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();

    let mut request = get("/ui/app.js");
    request.headers_mut().insert(
        header::IF_NONE_MATCH,
        format!("\"x\", {etag}").parse().unwrap(),
    );
    let (status, headers, empty) = call(&h.app, request).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(headers[header::ETAG], etag.as_str());
    assert!(empty.is_empty());

    let mut request = get("/ui/app.js");
    request
        .headers_mut()
        .insert(header::IF_NONE_MATCH, "\"stale\"".parse().unwrap());
    let (status, _, again) = call(&h.app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, body);
}

#[tokio::test]
async fn unknown_ui_paths_are_404_and_bare_ui_redirects() {
    let h = harness("{}");
    for path in [
        "/ui/nope.js",
        "/ui/../Cargo.toml",
        "/ui/%2e%2e/Cargo.toml",
        "/ui/e2e/package.json",
        "/ui/app",
    ] {
        let (status, headers, body) = call(&h.app, get(path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, "404 page not found\n", "{path}");
        assert!(!headers.contains_key(header::ETAG), "{path}");
    }
    let (status, headers, _) = call(&h.app, get("/ui")).await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers[header::LOCATION], "/ui/");
}

#[tokio::test]
async fn ui_is_behind_authentication() {
    let h = harness(&users_yaml("secret"));
    let (status, _, _) = call(&h.app, get("/ui/")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&h.app, with_auth(get("/ui/"), &basic("alice", "secret"))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn home_page_links_the_ui() {
    let h = harness("{}");
    let (_, _, body) = call(&h.app, get("/")).await;
    assert!(body.contains("href=\"/ui/\""), "{body}");
}
