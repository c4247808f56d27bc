//! The scratch cluster's tests: real servers started and stopped, and the pure helpers.

use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;

use super::binaries::find_binaries;
use super::cluster::url_encode;
use super::options::conf_line;
use super::*;

async fn query_one_text(pg: &ScratchCluster, sql: &str) -> String {
    let client = pg.connect().await.expect("connect");
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn scratch_starts_answers_and_cleans_up() {
    let pg = ScratchCluster::start(ScratchOptions::default())
        .await
        .expect("start");
    assert!(pg.port() > 0);
    assert_eq!(
        pg.url(),
        format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
    );
    assert!(pg.data_dir().join("PG_VERSION").exists());
    assert_eq!(query_one_text(&pg, "SELECT 'x' || 1").await, "x1");
    assert_eq!(query_one_text(&pg, "SHOW wal_level").await, "logical");
    assert_eq!(query_one_text(&pg, "SHOW max_wal_senders").await, "10");
    assert_eq!(
        query_one_text(&pg, "SHOW max_replication_slots").await,
        "10"
    );
    assert_eq!(
        query_one_text(&pg, "SHOW listen_addresses").await,
        "127.0.0.1"
    );
    assert_eq!(query_one_text(&pg, "SHOW fsync").await, "on");
    assert_eq!(
        query_one_text(&pg, "SHOW unix_socket_directories").await,
        pg.socket_dir().to_string_lossy()
    );
    assert_eq!(query_one_text(&pg, "SHOW server_encoding").await, "UTF8");
    let is_super = query_one_text(
        &pg,
        "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user",
    )
    .await;
    assert_eq!(is_super, "true");
    // A logical slot can be created (what the runtime needs).
    let client = pg.connect().await.unwrap();
    client
        .execute(
            "SELECT pg_create_logical_replication_slot('scratch_test', 'pgoutput')",
            &[],
        )
        .await
        .expect("logical slot");

    let port = pg.port();
    let data = pg.data_dir().to_path_buf();
    let root = pg.socket_dir().to_path_buf();
    drop(client);
    pg.stop();
    assert!(!data.exists(), "data dir removed");
    assert!(!root.exists(), "temp dir removed");
    assert!(
        std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
        "server stopped"
    );
}

#[tokio::test]
async fn scratch_options_apply() {
    let pg = ScratchCluster::start(
        ScratchOptions::default()
            .without_logical_wal()
            .fsync_off()
            .conf("work_mem", "7MB")
            .conf("application_name", "it's quoted"),
    )
    .await
    .expect("start");
    assert_eq!(query_one_text(&pg, "SHOW wal_level").await, "replica");
    assert_eq!(query_one_text(&pg, "SHOW fsync").await, "off");
    assert_eq!(query_one_text(&pg, "SHOW work_mem").await, "7MB");
    let client = pg.connect().await.unwrap();
    let err = client
        .execute(
            "SELECT pg_create_logical_replication_slot('s', 'pgoutput')",
            &[],
        )
        .await
        .expect_err("no logical slots without wal_level=logical");
    let msg = err.as_db_error().map(|e| e.message().to_string());
    assert!(
        msg.as_deref().unwrap_or("").contains("wal_level"),
        "{err:?}"
    );
}

#[tokio::test]
async fn scratch_scram_requires_the_password() {
    let pg = ScratchCluster::start(ScratchOptions::default().scram("alice", "s3cr:t@/x"))
        .await
        .expect("start");
    assert_eq!(pg.user(), "alice");
    assert_eq!(
        pg.url(),
        format!(
            "postgres://alice:s3cr%3At%40%2Fx@127.0.0.1:{}/postgres",
            pg.port()
        )
    );
    assert_eq!(
        query_one_text(&pg, "SELECT current_user::text").await,
        "alice"
    );
    let method = query_one_text(
        &pg,
        "SELECT string_agg(DISTINCT auth_method, ',') FROM pg_hba_file_rules",
    )
    .await;
    assert_eq!(method, "scram-sha-256");
    let err = tokio_postgres::connect(
        &pg.url_for("alice", Some("wrong"), "postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .expect("a wrong password is refused");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD),
        "{err:?}"
    );
    assert!(
        tokio_postgres::connect(
            &pg.url_for("alice", None, "postgres"),
            tokio_postgres::NoTls
        )
        .await
        .is_err(),
        "a missing password is refused"
    );
}

#[tokio::test]
async fn scratch_clusters_run_side_by_side() {
    let (a, b) = tokio::join!(
        ScratchCluster::start(ScratchOptions::default()),
        ScratchCluster::start(ScratchOptions::default())
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_ne!(a.port(), b.port());
    assert_ne!(a.data_dir(), b.data_dir());
    let ca = a.connect().await.unwrap();
    ca.batch_execute("CREATE TABLE only_in_a (x int)")
        .await
        .unwrap();
    let n: i64 = b
        .connect()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn scratch_binaries_not_found_is_one_clear_line() {
    let empty = tempfile::tempdir().unwrap();
    let err = find_binaries(
        Some(empty.path()),
        empty.path().as_os_str(),
        &[empty.path()],
    )
    .unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        "PostgreSQL server binaries not found: install postgresql (apt-get install \
         postgresql) or put initdb on PATH"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn scratch_binaries_pick_the_highest_version() {
    let root = tempfile::tempdir().unwrap();
    for v in ["9.6", "15", "16", "notaversion"] {
        let bin = root.path().join(v).join("bin");
        fs::create_dir_all(&bin).unwrap();
        for exe in ["initdb", "postgres", "pg_ctl"] {
            let p = bin.join(exe);
            fs::write(&p, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    // 17 is incomplete (no postgres) and must be skipped.
    let incomplete = root.path().join("17").join("bin");
    fs::create_dir_all(&incomplete).unwrap();
    fs::write(incomplete.join("initdb"), "").unwrap();
    let found = find_binaries(None, std::ffi::OsStr::new(""), &[root.path()]).unwrap();
    assert_eq!(found.bin_dir, root.path().join("16").join("bin"));
    // PATH wins over the versioned installs.
    let on_path = root.path().join("15").join("bin");
    let found = find_binaries(None, on_path.as_os_str(), &[root.path()]).unwrap();
    assert_eq!(found.bin_dir, on_path);
}

#[test]
fn scratch_conf_lines_are_quoted_and_checked() {
    assert_eq!(conf_line("a.b_c", "x'y").unwrap(), "a.b_c = 'x''y'\n");
    assert!(conf_line("bad key", "1").is_err());
    assert!(conf_line("k", "a\nb").is_err());
    assert_eq!(url_encode("a b@c"), "a%20b%40c");
}
