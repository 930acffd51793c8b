//! TLS between two streams of one engine, from Rust alone: a server whose
//! handshakes wait for the user to choose a certificate by server name
//! (`EventKind::SslServername`, `Engine::answer_servername`), a client
//! trusting a self-signed CA certificate as it is, and what the engine
//! reports once the handshake is done (version, peer certificate).
//! Certificates are made with the `openssl` command line.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use pants_core::{Engine, EventKind, SocketAddress, TlsConfig, TlsOptions, TlsVersion};
use support::{drive, listen_loopback, TempDir, TIMEOUT};

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl command line");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A self-signed certificate marked as a CA, for `name`: (certificate, key) PEM.
fn self_signed(dir: &Path, name: &str) -> (Vec<u8>, Vec<u8>) {
    let (cert, key) = (format!("{name}.pem"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "2",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            &format!("subjectAltName=DNS:{name}"),
        ],
    );
    (std::fs::read(dir.join(cert)).unwrap(), std::fs::read(dir.join(key)).unwrap())
}

struct Peers {
    engine: Engine,
    client: usize,
    server: usize,
    sni: TlsConfig,
}

/// A server (default certificate `default.test`, servername callback on)
/// and a client asking for `sni.test`, trusting only `sni.test`'s certificate.
fn peers(dir: &TempDir) -> Peers {
    let (default_cert, default_key) = self_signed(dir.path(), "default.test");
    let (sni_cert, sni_key) = self_signed(dir.path(), "sni.test");
    let server_options = TlsOptions { cert: default_cert, key: default_key, servername_callback: true, ..TlsOptions::default() };
    let server_config = TlsConfig::server(&server_options).expect("server configuration");
    let sni = TlsConfig::server(&TlsOptions { cert: sni_cert.clone(), key: sni_key, ..TlsOptions::default() }).expect("sni configuration");
    let client_config = TlsConfig::client(&TlsOptions { ca: sni_cert, reject_unauthorized: true, ..TlsOptions::default() }).expect("client configuration");

    let mut engine = Engine::new().expect("engine");
    let (listener, address) = listen_loopback(&mut engine);
    engine.set_listener_tls(listener, Some(&server_config)).expect("listener TLS");
    let client = engine.connect(&SocketAddress::Inet(address));
    engine.start_tls(client, &client_config, "sni.test").expect("client TLS");
    let mut server = None;
    drive(&mut engine, "the ClientHello naming sni.test", TIMEOUT, |_, events| {
        for event in events {
            match event.kind {
                EventKind::Accept => server = Some(event.a as usize),
                EventKind::SslServername => {
                    assert_eq!(Some(event.token), server);
                    return true;
                }
                EventKind::Connect => {}
                other => panic!("unexpected {other:?} in {events:?}"),
            }
        }
        false
    });
    Peers { engine, client, server: server.unwrap(), sni }
}

#[test]
fn the_handshake_waits_for_the_certificate_chosen_by_server_name() {
    let dir = TempDir::new("tls-servername");
    let Peers { mut engine, client, server, sni } = peers(&dir);
    assert_eq!(engine.tls_servername(server).as_deref(), Some("sni.test"));
    // Nothing moves while the answer waits.
    drive(&mut engine, "a quiet moment", TIMEOUT, |_, events| {
        assert!(events.iter().all(|event| event.kind != EventKind::SslHandshake), "{events:?}");
        true
    });
    engine.answer_servername(server, Ok(Some(&sni)));
    let mut done = HashSet::new();
    drive(&mut engine, "both handshakes", TIMEOUT, |_, events| {
        for event in events {
            assert_eq!(event.kind, EventKind::SslHandshake, "{events:?}");
            done.insert(event.token);
        }
        done.len() == 2
    });
    assert_eq!(engine.tls_version(client), Some(TlsVersion::Tls13));
    let certificate = engine.peer_certificate(client).expect("the server's certificate");
    assert_eq!(certificate.subject, [("CN".to_owned(), "sni.test".to_owned())]);
    assert_eq!(certificate.subjectaltname.as_deref(), Some("DNS:sni.test"));
    assert!(certificate.ca);
    assert_eq!(engine.peer_certificate(server), None, "the client sent no certificate");
}

#[test]
fn a_failed_answer_fails_the_server_handshake_as_openssl_callback_failed() {
    let dir = TempDir::new("tls-servername-error");
    let Peers { mut engine, client, server, .. } = peers(&dir);
    engine.answer_servername(server, Err(()));
    drive(&mut engine, "the server's handshake error", TIMEOUT, |_, events| {
        events.iter().any(|event| event.kind == EventKind::SslHandshakeError && event.token == server)
    });
    assert_eq!(engine.tls_failure(server).map(|failure| failure.code), Some("ERR_SSL_CALLBACK_FAILED"));
    assert_eq!(engine.tls_version(client), None);
}
