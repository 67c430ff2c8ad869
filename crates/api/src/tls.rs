//! rustls server configuration from `tls_server_config` (exporter-toolkit names), using the
//! ring provider only.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::SupportedKxGroup;
use rustls::crypto::ring as provider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tocsin_config::{
    ClientAuthType, PemSource, TlsCipherSuite, TlsCurve, TlsServerConfig, TlsVersion,
};

use crate::security::resolve;
use crate::{Error, Result};

fn read_pem(source: &PemSource, what: &'static str, base_dir: &Path) -> Result<(Vec<u8>, String)> {
    match source {
        PemSource::Inline(pem) => Ok((pem.expose().as_bytes().to_vec(), "(inline)".to_owned())),
        PemSource::File(file) => {
            let path = resolve(base_dir, file);
            let bytes = std::fs::read(&path).map_err(|source| Error::ReadFile {
                what,
                path: path.clone(),
                source,
            })?;
            Ok((bytes, path.display().to_string()))
        }
    }
}

fn certificates(
    source: &PemSource,
    what: &'static str,
    base_dir: &Path,
) -> Result<Vec<CertificateDer<'static>>> {
    let (bytes, origin) = read_pem(source, what, base_dir)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Error::Pem {
            what,
            origin: origin.clone(),
            reason: err.to_string(),
        })?;
    if certs.is_empty() {
        return Err(Error::Pem {
            what,
            origin,
            reason: "no CERTIFICATE block found".to_owned(),
        });
    }
    Ok(certs)
}

fn cipher_suite(suite: TlsCipherSuite) -> SupportedCipherSuite {
    use provider::cipher_suite as cs;
    match suite {
        TlsCipherSuite::EcdheEcdsaAes128GcmSha256 => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite::EcdheRsaAes128GcmSha256 => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite::EcdheEcdsaAes256GcmSha384 => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite::EcdheRsaAes256GcmSha384 => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite::EcdheEcdsaChacha20Poly1305 => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        TlsCipherSuite::EcdheRsaChacha20Poly1305 => cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    }
}

/// Builds the server configuration, reading certificate and key files now (so a reload
/// picks up renewed certificates).
pub(crate) fn server_config(
    tls: &TlsServerConfig,
    http2: bool,
    base_dir: &Path,
) -> Result<Arc<ServerConfig>> {
    let certs = certificates(&tls.cert, "certificate", base_dir)?;
    let (key_bytes, key_origin) = read_pem(&tls.key, "private key", base_dir)?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|err| Error::Pem {
        what: "private key",
        origin: key_origin,
        reason: err.to_string(),
    })?;

    let mut crypto = provider::default_provider();
    if !tls.cipher_suites.is_empty() {
        let wanted: Vec<SupportedCipherSuite> =
            tls.cipher_suites.iter().map(|&s| cipher_suite(s)).collect();
        // TLS 1.3 suites are not configurable (as in Go); keep them, then the chosen 1.2 ones
        // in the configured order.
        let mut suites: Vec<SupportedCipherSuite> = crypto
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect();
        suites.extend(wanted);
        crypto.cipher_suites = suites;
    }
    if !tls.curve_preferences.is_empty() {
        crypto.kx_groups = tls
            .curve_preferences
            .iter()
            .map(|&curve| -> &'static dyn SupportedKxGroup {
                match curve {
                    TlsCurve::X25519 => provider::kx_group::X25519,
                    TlsCurve::CurveP256 => provider::kx_group::SECP256R1,
                    TlsCurve::CurveP384 => provider::kx_group::SECP384R1,
                }
            })
            .collect();
    }
    let crypto = Arc::new(crypto);

    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= tls.min_version && *v <= tls.max_version)
    .map(|(_, p)| p)
    .collect();

    let builder = ServerConfig::builder_with_provider(Arc::clone(&crypto))
        .with_protocol_versions(&versions)
        .map_err(|err| Error::Tls(err.to_string()))?;
    let builder = match (&tls.client_ca, tls.client_auth_type) {
        (Some(ca), auth) if auth != ClientAuthType::NoClientCert => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca, "client CA certificate", base_dir)? {
                roots
                    .add(cert)
                    .map_err(|err| Error::Tls(format!("client CA: {err}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto);
            let verifier = if auth == ClientAuthType::VerifyClientCertIfGiven {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|err| Error::Tls(format!("client CA: {err}")))?,
            )
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|err| Error::Tls(format!("certificate and key: {err}")))?;
    config.ignore_client_order = tls.prefer_server_cipher_suites;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// Whether a verified client certificate carries one of the allowed SANs (DNS names and IP
/// addresses, checked the way a server name is checked).
pub(crate) fn client_san_allowed(cert: &CertificateDer<'_>, allowed: &[String]) -> bool {
    let Ok(end_entity) = webpki::EndEntityCert::try_from(cert) else {
        return false;
    };
    allowed.iter().any(|san| {
        rustls_pki_types::ServerName::try_from(san.as_str())
            .is_ok_and(|name| end_entity.verify_is_valid_for_subject_name(&name).is_ok())
    })
}
