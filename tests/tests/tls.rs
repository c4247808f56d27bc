//! TLS (`sslmode`) end to end: a scratch server with `ssl = on` and a self-signed certificate made
//! with the `openssl` command, the real binary, and the library's two connections (tokio-postgres
//! for SQL, our own frontend for replication) checked side by side.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use conduit_e2e::*;
use conduit_wasm::source::conninfo::ConnInfo;
use conduit_wasm::source::{setup, wire};

// ---- helpers ------------------------------------------------------------------------------------

/// A self-signed server certificate and its key, in a directory the server can read.
struct ServerCert {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

/// `uid gid` of the `postgres` user when this test runs as root (the scratch server then runs as
/// `postgres` and must own its key file), else `None`.
fn server_owner() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> String {
        let out = Command::new("id").args(args).output().expect("running id");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    if id(&["-u"]) != "0" {
        return None;
    }
    Some((
        id(&["-u", "postgres"]).parse().expect("uid of postgres"),
        id(&["-g", "postgres"]).parse().expect("gid of postgres"),
    ))
}

/// Makes a self-signed certificate (EC P-256, not a CA, for `serverAuth`) naming `san`
/// (e.g. `DNS:localhost, IP:127.0.0.1`) with the `openssl` command.
fn make_cert(san: &str) -> ServerCert {
    make_cert_named("conduit-e2e", san)
}

/// [`make_cert`] with subject `CN=<cn>`.
fn make_cert_named(cn: &str, san: &str) -> ServerCert {
    let dir = tempfile::Builder::new()
        .prefix("conduit-e2e-tls-")
        .tempdir()
        .expect("temp dir");
    // The server (user postgres) must reach the files.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.path().join("openssl.cnf");
    std::fs::write(
        &conf,
        format!(
            "[req]\ndistinguished_name = dn\nx509_extensions = v3\nprompt = no\n\
             [dn]\nCN = {cn}\n\
             [v3]\nbasicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n\
             subjectAltName = {san}\n"
        ),
    )
    .unwrap();
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    let out = Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-days", "2", "-sha256"])
        .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .arg("-config")
        .arg(&conf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| panic!("running openssl (apt-get install openssl): {e}"));
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(&cert, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    if let Some((uid, gid)) = server_owner() {
        std::os::unix::fs::chown(&key, Some(uid), Some(gid)).expect("chown key to postgres");
    }
    ServerCert {
        _dir: dir,
        cert,
        key,
    }
}

/// Server options with TLS on, using `cert`.
fn tls_options(cert: &ServerCert) -> ScratchOptions {
    ScratchOptions::default()
        .fsync_off()
        .conf("ssl", "on")
        .conf("ssl_cert_file", cert.cert.to_string_lossy())
        .conf("ssl_key_file", cert.key.to_string_lossy())
}

/// Rewrites pg_hba.conf so TCP connections must use TLS (`hostssl`, with `method`), reloads, and
/// waits until a plaintext connection is refused. The fixture's client (connected before) stays.
///
/// The scratch API has no pg_hba option; the test runs as root or as the server's user, so it
/// can edit the file in the data directory directly.
async fn require_tls_in_hba(f: &Fixture, method: &str) {
    let hba = f.pg.data_dir().join("pg_hba.conf");
    std::fs::write(
        &hba,
        format!(
            "local all all trust\nlocal replication all trust\n\
             hostssl all all 127.0.0.1/32 {method}\nhostssl replication all 127.0.0.1/32 {method}\n"
        ),
    )
    .expect("writing pg_hba.conf");
    let errors = f
        .query_value("SELECT count(*)::text FROM pg_hba_file_rules WHERE error IS NOT NULL")
        .await;
    assert_eq!(errors, "0", "pg_hba.conf has errors");
    f.exec("SELECT pg_reload_conf()").await;
    eventually(
        "plaintext connections to be refused after the pg_hba.conf reload",
        Duration::from_secs(30),
        async || match tokio_postgres::connect(&f.pg.url(), tokio_postgres::NoTls).await {
            Err(e) if pg_error(&e).contains("no pg_hba.conf entry") => Ok(()),
            Err(e) => panic!(
                "unexpected error from a plaintext connection: {}",
                pg_error(&e)
            ),
            Ok(_) => Err("plaintext connections still accepted"),
        },
    )
    .await
}

/// `url` with `params` appended as its query string.
fn with_params(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// Percent-encodes a file path for a URL query value.
fn encode_path(p: &Path) -> String {
    p.to_string_lossy()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whether conduit-wasm's walsender uses TLS, from `pg_stat_ssl`.
async fn walsender_ssl(f: &Fixture) -> String {
    f.query_value(
        "SELECT bool_and(s.ssl)::text FROM pg_stat_ssl s JOIN pg_stat_replication r \
         ON r.pid = s.pid WHERE r.application_name = 'conduit-wasm'",
    )
    .await
}

/// Starts conduit-wasm on `source`, inserts a row and checks it comes out as one JSON line.
async fn streams_one_insert(f: &Fixture, source: String) -> Running {
    f.exec("CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text)")
        .await;
    let mut c = f.start(f.run_config().source(source)).await;
    f.exec("INSERT INTO items VALUES (1, 'over tls?')").await;
    let lines = c.wait_for_lines(1, line_deadline()).await.to_vec();
    assert_eq!(op(&lines[0]), "insert", "{}", short(&lines[0]));
    assert_eq!(table(&lines[0]), "items");
    assert_eq!(lines[0]["new"], json!({"id": 1, "name": "over tls?"}));
    c
}

/// Both connections' outcome for `url`: the SQL connection and the replication connection.
async fn connect_both(url: &str) -> (Result<(), String>, Result<(), String>) {
    let info = ConnInfo::parse(url).unwrap_or_else(|e| panic!("parsing {url}: {e}"));
    let sql = setup::connect_sql(&info)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let repl = wire::Connection::connect(&info)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    (sql, repl)
}

/// Asserts both connections failed with a one-line message containing all of `needles`
/// (case-insensitive).
fn assert_both_fail(outcome: (Result<(), String>, Result<(), String>), needles: &[&str]) {
    for (which, r) in [("SQL", outcome.0), ("replication", outcome.1)] {
        let e = r
            .err()
            .unwrap_or_else(|| panic!("{which} connection should fail"));
        assert!(!e.contains('\n'), "{which}: not one line: {e}");
        let l = e.to_lowercase();
        for n in needles {
            assert!(
                l.contains(&n.to_lowercase()),
                "{which}: {n:?} missing from: {e}"
            );
        }
    }
}

fn assert_both_ok(outcome: (Result<(), String>, Result<(), String>)) {
    if let Err(e) = outcome.0 {
        panic!("SQL connection failed: {e}");
    }
    if let Err(e) = outcome.1 {
        panic!("replication connection failed: {e}");
    }
}

// ---- the binary ---------------------------------------------------------------------------------

#[tokio::test]
async fn require_streams_changes_over_tls() {
    let cert = make_cert("DNS:localhost, IP:127.0.0.1");
    let f = Fixture::with_options(tls_options(&cert)).await;
    require_tls_in_hba(&f, "trust").await;
    let c = streams_one_insert(&f, with_params(&f.pg.url(), "sslmode=require")).await;
    assert_eq!(walsender_ssl(&f).await, "true");
    c.terminate_ok().await;
}

#[tokio::test]
async fn verify_full_with_root_cert_streams_changes() {
    let cert = make_cert("DNS:localhost, IP:127.0.0.1");
    let f = Fixture::with_options(tls_options(&cert)).await;
    require_tls_in_hba(&f, "trust").await;
    // Host `localhost` (the certificate's DNS name); 127.0.0.1 (its IP name) is checked below
    // with the library.
    let url = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        f.pg.port(),
        encode_path(&cert.cert)
    );
    let c = streams_one_insert(&f, url).await;
    assert_eq!(walsender_ssl(&f).await, "true");
    c.terminate_ok().await;
}

#[tokio::test]
async fn verify_full_without_root_cert_fails() {
    let cert = make_cert("DNS:localhost, IP:127.0.0.1");
    let f = Fixture::with_options(tls_options(&cert)).await;
    let out = f
        .run_config()
        .source(with_params(&f.pg.url(), "sslmode=verify-full"))
        .run_to_exit()
        .await;
    out.assert_failed_with(&Expect {
        problem: "certificate not trusted",
        alternatives: vec![vec!["certificate".into(), "sslrootcert".into()]],
    });
}

#[tokio::test]
async fn require_against_a_server_without_tls_fails() {
    let f = Fixture::new().await;
    let out = f
        .run_config()
        .source(with_params(&f.pg.url(), "sslmode=require"))
        .run_to_exit()
        .await;
    out.assert_failed_with(&Expect {
        problem: "server without TLS",
        alternatives: vec![vec![
            "does not support TLS".into(),
            "sslmode=require".into(),
        ]],
    });
}

#[tokio::test]
async fn prefer_against_a_server_without_tls_streams_in_plaintext() {
    let f = Fixture::new().await;
    let c = streams_one_insert(&f, with_params(&f.pg.url(), "sslmode=prefer")).await;
    assert_eq!(walsender_ssl(&f).await, "false");
    c.terminate_ok().await;
}

#[tokio::test]
async fn scram_channel_binding_over_tls() {
    // channel_binding=require makes both connections use SCRAM-SHA-256-PLUS with
    // tls-server-end-point, and the server checks the certificate hash we send.
    let cert = make_cert("DNS:localhost, IP:127.0.0.1");
    let f = Fixture::with_options(tls_options(&cert).scram("conduit", "s3cret")).await;
    require_tls_in_hba(&f, "scram-sha-256").await;
    let c = streams_one_insert(
        &f,
        with_params(&f.pg.url(), "sslmode=require&channel_binding=require"),
    )
    .await;
    assert_eq!(walsender_ssl(&f).await, "true");
    c.terminate_ok().await;
}

// ---- both connections, through the library ------------------------------------------------------

#[tokio::test]
async fn both_connections_follow_sslmode() {
    let cert = make_cert("DNS:localhost, IP:127.0.0.1");
    let f = Fixture::with_options(tls_options(&cert)).await;
    let url = f.pg.url();
    let root = encode_path(&cert.cert);

    // Before pg_hba requires TLS: everything that may fall back or encrypts works.
    for params in ["sslmode=disable", "sslmode=prefer", "sslmode=allow"] {
        assert_both_ok(connect_both(&with_params(&url, params)).await);
    }
    require_tls_in_hba(&f, "trust").await;
    for params in [
        "sslmode=prefer".to_string(),
        "sslmode=require".to_string(),
        format!("sslmode=verify-ca&sslrootcert={root}"),
        format!("sslmode=verify-full&sslrootcert={root}"),
        // libpq: require with a root certificate verifies the chain.
        format!("sslmode=require&sslrootcert={root}"),
    ] {
        assert_both_ok(connect_both(&with_params(&url, &params)).await);
    }
    // disable is refused by hostssl-only pg_hba: the server says so.
    assert_both_fail(
        connect_both(&with_params(&url, "sslmode=disable")).await,
        &["no pg_hba.conf entry"],
    );
    // No root certificate: the system roots do not know our self-signed one.
    assert_both_fail(
        connect_both(&with_params(&url, "sslmode=verify-full")).await,
        &["certificate", "sslrootcert"],
    );
}

#[tokio::test]
async fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let cert = make_cert("DNS:db.example.invalid");
    let f = Fixture::with_options(tls_options(&cert)).await;
    let root = encode_path(&cert.cert);
    assert_both_fail(
        connect_both(&with_params(
            &f.pg.url(),
            &format!("sslmode=verify-full&sslrootcert={root}"),
        ))
        .await,
        &[
            "not valid for that host name",
            "db.example.invalid",
            "verify-ca",
        ],
    );
    assert_both_ok(
        connect_both(&with_params(
            &f.pg.url(),
            &format!("sslmode=verify-ca&sslrootcert={root}"),
        ))
        .await,
    );
}

#[tokio::test]
async fn a_different_root_cert_is_not_trusted() {
    let cert = make_cert("DNS:localhost, IP:127.0.0.1");
    // Another certificate of the same name (the issuer is found, the signature is wrong) and one
    // of another name (no issuer found).
    let same_name = make_cert("DNS:localhost, IP:127.0.0.1");
    let other_name = make_cert_named("someone-else", "DNS:localhost, IP:127.0.0.1");
    let f = Fixture::with_options(tls_options(&cert)).await;
    for other in [&same_name, &other_name] {
        assert_both_fail(
            connect_both(&with_params(
                &f.pg.url(),
                &format!("sslmode=verify-ca&sslrootcert={}", encode_path(&other.cert)),
            ))
            .await,
            &["certificate", "not signed by", "sslrootcert"],
        );
    }
}

#[tokio::test]
async fn require_against_a_server_without_tls_fails_on_both_connections() {
    let f = Fixture::new().await;
    assert_both_fail(
        connect_both(&with_params(&f.pg.url(), "sslmode=require")).await,
        &["does not support TLS", "sslmode=require"],
    );
    assert_both_fail(
        connect_both(&with_params(&f.pg.url(), "sslmode=verify-full")).await,
        &["does not support TLS", "sslmode=verify-full"],
    );
    assert_both_ok(connect_both(&with_params(&f.pg.url(), "sslmode=prefer")).await);
}

#[tokio::test]
async fn channel_binding_require_without_tls_fails_on_both_connections() {
    let f =
        Fixture::with_options(ScratchOptions::default().fsync_off().scram("conduit", "pw")).await;
    assert_both_fail(
        connect_both(&with_params(
            &f.pg.url(),
            "sslmode=disable&channel_binding=require",
        ))
        .await,
        &["channel binding", "channel_binding=require"],
    );
}
