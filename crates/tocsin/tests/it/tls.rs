//! HTTPS and mutual TLS on the listener, with certificates made for the test.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::support::{TestServer, install_crypto_provider};

struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
    other_client: (String, String),
}

fn issue(name: &str, sans: &[&str], issuer: &Issuer<'_, KeyPair>) -> (String, String) {
    let mut params =
        CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn make_pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tocsin test CA");
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    Pki {
        ca_pem,
        server: issue("server", &["localhost", "127.0.0.1"], &issuer),
        client: issue("client", &["ci.example.test"], &issuer),
        other_client: issue("other", &["intruder.example.test"], &issuer),
    }
}

fn client(pki: &Pki, identity: Option<&(String, String)>) -> reqwest::Client {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()]);
    if let Some((cert, key)) = identity {
        builder = builder
            .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

async fn wait_tls_ready(server: &mut TestServer, client: &reqwest::Client) {
    let url = format!(
        "https://{}/-/ready",
        server.addr.replace("127.0.0.1", "localhost")
    );
    server
        .wait_until(|| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            }
        })
        .await;
}

#[tokio::test]
async fn https_and_mutual_tls_with_allowed_sans() {
    let pki = make_pki();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.crt"), &pki.ca_pem).unwrap();
    std::fs::write(dir.path().join("server.crt"), &pki.server.0).unwrap();
    std::fs::write(dir.path().join("server.key"), &pki.server.1).unwrap();
    std::fs::write(
        dir.path().join("tocsin.yml"),
        "web:\n  tls_server_config:\n    cert_file: server.crt\n    key_file: server.key\n    \
         client_auth_type: RequireAndVerifyClientCert\n    client_ca_file: ca.crt\n    \
         client_allowed_sans: [ci.example.test]\n",
    )
    .unwrap();
    let mut server = TestServer::start(dir.path(), &[]);
    let with_cert = client(&pki, Some(&pki.client));
    wait_tls_ready(&mut server, &with_cert).await;
    let base = format!("https://{}", server.addr.replace("127.0.0.1", "localhost"));

    let ok = with_cert
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.version(),
        reqwest::Version::HTTP_2,
        "ALPN should pick h2"
    );

    let without_cert = client(&pki, None);
    assert!(
        without_cert
            .get(format!("{base}/-/healthy"))
            .send()
            .await
            .is_err(),
        "a client without a certificate must be refused"
    );
    let wrong_san = client(&pki, Some(&pki.other_client));
    assert!(
        wrong_san
            .get(format!("{base}/-/healthy"))
            .send()
            .await
            .is_err(),
        "a certificate without an allowed SAN must be refused"
    );
    let plain = crate::support::http();
    assert!(
        plain.get(server.url("/-/healthy")).send().await.is_err(),
        "plain HTTP must fail"
    );
}

#[tokio::test]
async fn reload_picks_up_a_renewed_certificate() {
    let (pki, renewed) = (make_pki(), make_pki());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.crt"), &pki.server.0).unwrap();
    std::fs::write(dir.path().join("server.key"), &pki.server.1).unwrap();
    std::fs::write(
        dir.path().join("tocsin.yml"),
        "web:\n  tls_server_config:\n    cert_file: server.crt\n    key_file: server.key\n",
    )
    .unwrap();
    let mut server = TestServer::start(dir.path(), &[]);
    let old_client = client(&pki, None);
    wait_tls_ready(&mut server, &old_client).await;
    let base = format!("https://{}", server.addr.replace("127.0.0.1", "localhost"));

    std::fs::write(dir.path().join("server.crt"), &renewed.server.0).unwrap();
    std::fs::write(dir.path().join("server.key"), &renewed.server.1).unwrap();
    let reload = old_client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 200, "{}", server.logs());
    let new_client = client(&renewed, None);
    let ok = new_client
        .get(format!("{base}/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // A fresh client that trusts only the old CA no longer connects.
    assert!(
        client(&pki, None)
            .get(format!("{base}/-/healthy"))
            .send()
            .await
            .is_err()
    );
}
