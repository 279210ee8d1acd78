//! The hub over TLS with a municipality's own certificate authority: devices that
//! trust that CA enroll and sync over https/wss; one that trusts only the public
//! roots refuses the hub's certificate.

use insikt_core::sync::HubSyncOptions;
use insikt_core::{Error, Lang, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// A CA and a certificate for 127.0.0.1 signed by it: (ca pem, leaf pem, leaf key pem).
fn authority() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    (ca_cert.pem(), leaf.pem(), leaf_key.serialize_pem())
}

#[test]
fn devices_enroll_and_sync_over_tls_and_an_untrusted_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = authority();
    std::fs::write(dir.path().join("cert.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), &key).unwrap();
    let tls =
        insikt_hub::tls::server_config(&dir.path().join("cert.pem"), &dir.path().join("key.pem"))
            .unwrap();
    let hub =
        RunningHub::start_with(&dir.path().join("hub"), HubConfig::default(), Some(tls)).unwrap();
    assert!(hub.url.starts_with("https://"));
    hub.hub.add_org("Region Väst").unwrap();

    let sara = Store::open(&dir.path().join("sara"), &StoreKey::generate()).unwrap();
    let code = hub
        .hub
        .invite("Region Väst", Role::Coordinator, None)
        .unwrap();
    sara.enroll_with_ca(&hub.url, &code, "Sara", Some(&ca))
        .unwrap();
    let project = sara.create_project("Trygg", Lang::Sv, "Sara").unwrap();
    sara.sync_with_hub(&HubSyncOptions::default()).unwrap();

    let omar = Store::open(&dir.path().join("omar"), &StoreKey::generate()).unwrap();
    let code = hub
        .hub
        .invite("Region Väst", Role::Researcher, None)
        .unwrap();
    // Trusting only the public roots, the hub's certificate is refused.
    assert!(omar.enroll(&hub.url, &code, "Omar").is_err());
    omar.enroll_with_ca(&hub.url, &code, "Omar", Some(&ca))
        .unwrap();
    omar.sync_with_hub(&HubSyncOptions::default()).unwrap();
    assert!(omar
        .has_document(&insikt_core::DocKey::Project(project))
        .unwrap());
    // A CA file without a certificate is a clear error.
    let code = hub
        .hub
        .invite("Region Väst", Role::Researcher, None)
        .unwrap();
    assert!(matches!(
        omar.enroll_with_ca(&hub.url, &code, "again", Some("not a pem")),
        Err(Error::InvalidInput(_))
    ));
}
