//! The TLS settings of the HTTP clients.
//!
//! reqwest builds a platform verifier per client, and that verifier reads
//! and decodes the system's whole CA bundle when it is made: about 17
//! million instructions each, for the feed, article-page and delivery
//! clients, on every `storywatch poll`, that is a fifth of a poll that finds
//! nothing new, and all of it wasted when no feed or sink uses HTTPS.
//! Here a client's verifier loads the roots at the first certificate it
//! checks. The clients of one [`crate::feeds::fetch::Fetcher`] share one
//! config, and a new config (a reload of `run`) reads the roots afresh.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Client settings: ring, TLS 1.2 and 1.3, the platform's roots (loaded on
/// first use), HTTP/2 offered before HTTP/1.1 as reqwest does.
pub fn client_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(LazyRoots::new(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// The platform verifier, made when the first certificate needs checking.
/// A failure to make it (no CA bundle, or one being rewritten) is not kept:
/// the next certificate tries again. Handshake signatures need no roots, so
/// they are checked with the provider's algorithms directly, as the platform
/// verifier itself does.
#[derive(Debug)]
struct LazyRoots {
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<rustls_platform_verifier::Verifier>,
}

impl LazyRoots {
    fn new(provider: Arc<CryptoProvider>) -> LazyRoots {
        LazyRoots {
            provider,
            verifier: OnceLock::new(),
        }
    }

    /// Whether the roots have been read.
    #[cfg(test)]
    fn loaded(&self) -> bool {
        self.verifier.get().is_some()
    }

    fn verifier(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        if let Some(v) = self.verifier.get() {
            return Ok(v);
        }
        // Two first handshakes at once may both read the roots; one is kept.
        let made = rustls_platform_verifier::Verifier::new(self.provider.clone())?;
        Ok(self.verifier.get_or_init(|| made))
    }
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_read_at_the_first_certificate_not_before() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = LazyRoots::new(provider.clone());
        assert!(!roots.loaded());
        // Offering signature schemes (every ClientHello) needs no roots.
        assert!(!roots.supported_verify_schemes().is_empty());
        assert!(!roots.loaded());
        // A certificate that is not one is refused by the platform verifier,
        // which this first check had to make.
        let name = ServerName::try_from("example.org").unwrap();
        let err = roots
            .verify_server_cert(
                &CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]),
                &[],
                &name,
                &[],
                UnixTime::now(),
            )
            .unwrap_err();
        if matches!(err, rustls::Error::InvalidCertificate(_)) {
            assert!(roots.loaded());
        } else {
            // A machine without a CA bundle fails the check for that reason,
            // and the next certificate tries the roots again.
            assert!(err.to_string().contains("No CA certificates"), "{err:?}");
            assert!(!roots.loaded());
        }
    }
}
