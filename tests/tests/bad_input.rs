//! Bad input, as a table: for each bad URL, server setting, permission, config file and sink file,
//! the exact last line `conduit-wasm` writes to standard error and its exit code. The whole line
//! is compared, so the table is also the documentation of these messages; docs/errors.md shows
//! the same table and must name every case.
//!
//! The cases are grouped by what they need: nothing (they fail before any connection), one
//! trust-auth cluster, or one SCRAM cluster without `wal_level=logical`. The groups run in
//! parallel; the cases of a group run one after the other.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use conduit_e2e::bad_input::{case, check_table, Case, UNSET};

use conduit_e2e::*;

/// A core WebAssembly module (magic, version 1): valid WASM, but not a component.
const CORE_MODULE: &[u8] = b"\0asm\x01\0\0\0";
/// An empty component (magic, version 0x0d, layer 1): a component that exports nothing.
const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";
/// The component interface a sink built against the current contract exports.
const SINK_INTERFACE: &str = "conduit:sink/sink@0.2.0";

fn write_file(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `run <sink> --source URL --slot --publication --state-dir`.
fn run_args(sink: &Path, source: &str, state: &Path) -> Vec<OsString> {
    vec![
        "run".into(),
        sink.into(),
        "--source".into(),
        source.into(),
        "--slot".into(),
        "bad_input".into(),
        "--publication".into(),
        "bad_input".into(),
        "--state-dir".into(),
        state.into(),
    ]
}

/// [`run_args`] with another `--publication`.
fn publication(mut args: Vec<OsString>, name: &str) -> Vec<OsString> {
    assert_eq!(args[6], "--publication");
    args[7] = name.into();
    args
}

fn with(mut args: Vec<OsString>, more: &[&str]) -> Vec<OsString> {
    args.extend(more.iter().map(OsString::from));
    args
}

/// A configuration file's top part: `source` (if any), slot, publication, state_dir.
fn config_header(source: Option<&str>, state: &Path) -> String {
    let mut s = String::new();
    if let Some(url) = source {
        s += &format!("source = {url:?}\n");
    }
    s + &format!(
        "slot = \"bad_input\"\npublication = \"bad_input\"\nstate_dir = {:?}\n\n",
        state.join("state").display().to_string()
    )
}

/// A `[[tenants]]` section with id `id` and the stdout-json sink, then `extra` lines.
fn tenant(id: &str, extra: &str) -> String {
    format!(
        "[[tenants]]\nid = {id:?}\nsink = {:?}\n{extra}\n",
        stdout_json().display().to_string()
    )
}

/// Whether the tests run as root (`id -u` is 0).
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// `run --config FILE` and `validate --config FILE`, named `<name> (run)` and `<name>
/// (validate)`, both expecting `line` (prefixed with `error: `).
fn both(names: [&'static str; 2], file: &Path, line: &str) -> [Case; 2] {
    [
        case(
            names[0],
            [OsString::from("run"), "--config".into(), file.into()],
            format!("error: {line}"),
        ),
        case(
            names[1],
            [OsString::from("validate"), "--config".into(), file.into()],
            format!("error: {line}"),
        ),
    ]
}

// ---- no server: URLs, unreachable servers, sink files, config files -----------------------------

#[tokio::test]
async fn without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let json_sink = stdout_json();
    let port = unused_port();
    let nowhere = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let unreachable = format!(
        "error: could not connect to PostgreSQL at 127.0.0.1:{port}: Connection refused (os error \
         111); check that the server is running and the host and port in the source URL are right"
    );
    let example = "expected e.g. postgres://user:password@host:5432/dbname";

    let mut cases =
        vec![
        // The source URL.
        case(
            "source URL is not a URL",
            run_args(&json_sink, "not a url", &state),
            format!(
                "error: invalid source URL: it is neither a postgres:// URL nor key=value \
                 settings; {example}"
            ),
        ),
        case(
            "source URL has an unknown scheme",
            run_args(&json_sink, "mysql://app:secret@db.example.com/shop", &state),
            "error: invalid source URL: unknown scheme \"mysql://\"; use postgres:// or \
             postgresql://, e.g. postgres://user:password@host:5432/dbname",
        ),
        case(
            "source URL has a bad port",
            run_args(&json_sink, "postgres://postgres@127.0.0.1:99999/postgres", &state),
            format!(
                "error: invalid source URL: port \"99999\" is not a number from 1 to 65535; \
                 {example}"
            ),
        ),
        case(
            "source URL is empty",
            run_args(&json_sink, "", &state),
            format!("error: the source URL is empty: {example}"),
        ),
        case(
            "sslmode is unknown",
            run_args(&json_sink, &format!("{nowhere}?sslmode=verify"), &state),
            "error: invalid sslmode \"verify\" in the source URL: use disable, allow, prefer, \
             require, verify-ca or verify-full",
        ),
        case(
            "client certificate in the source URL",
            run_args(&json_sink, &format!("{nowhere}?sslcert=client.crt"), &state),
            "error: sslcert in the source URL is not supported: client certificates and CRLs are \
             not implemented; authenticate with a password (SCRAM) over sslmode=verify-full \
             instead",
        ),
        case(
            "server unreachable (--source)",
            run_args(&json_sink, &nowhere, &state),
            unreachable.clone(),
        ),
        case(
            "server unreachable (CONDUIT_SOURCE)",
            [
                OsString::from("run"),
                json_sink.clone().into(),
                "--state-dir".into(),
                state.clone().into(),
            ],
            unreachable,
        )
        .env("CONDUIT_SOURCE", &nowhere),
    ];

    // Sink files: `run` checks the sink before it connects, `check` is only about the sink.
    let missing = dir.path().join("no-such-sink.wasm");
    let text = write_file(
        dir.path(),
        "notes.wasm",
        "this is a text file, not a sink\n",
    );
    let core = write_file(dir.path(), "core.wasm", CORE_MODULE);
    let empty = write_file(dir.path(), "empty.wasm", EMPTY_COMPONENT);
    let sink_cases: [(&Path, [&'static str; 2], String); 4] = [
        (
            &missing,
            ["sink file missing (run)", "sink file missing (check)"],
            format!(
                "sink file {} not found: build it first (e.g. cargo xtask build-sinks) or fix the \
                 path",
                missing.display()
            ),
        ),
        (
            &text,
            [
                "sink is not WebAssembly (run)",
                "sink is not WebAssembly (check)",
            ],
            format!(
                "{} is not a WebAssembly file (no \\0asm header): pass the .wasm sink component",
                text.display()
            ),
        ),
        (
            &core,
            [
                "sink is a core module (run)",
                "sink is a core module (check)",
            ],
            format!(
                "{} is a core WebAssembly module, not a component: build it for wasm32-wasip2 or \
                 wrap it with `wasm-tools component new`",
                core.display()
            ),
        ),
        (
            &empty,
            [
                "sink does not export the sink interface (run)",
                "sink does not export the sink interface (check)",
            ],
            format!(
                "{} does not export the {SINK_INTERFACE} interface (it exports: nothing); build \
                 it against wit/sink.wit's sink-component world",
                empty.display()
            ),
        ),
    ];
    for (path, names, line) in sink_cases {
        cases.push(case(
            names[0],
            run_args(path, &nowhere, &state),
            format!("error: {line}"),
        ));
        cases.push(case(
            names[1],
            [OsString::from("check"), path.into()],
            format!("error: {line}"),
        ));
    }

    // Config files that fail before any connection.
    let head = config_header(Some(&nowhere), dir.path());
    let file = |name: &str, body: String| write_file(dir.path(), name, body);
    let malformed = file("malformed.toml", format!("{head}[[tenants]\nid = \"a\"\n"));
    let unknown_key = file(
        "unknown-key.toml",
        format!("{head}slots = \"x\"\n{}", tenant("a", "")),
    );
    let duplicate = file(
        "duplicate.toml",
        format!("{head}{}{}", tenant("acme", ""), tenant("acme", "")),
    );
    let bad_id = file("bad-id.toml", format!("{head}{}", tenant("acme corp", "")));
    let no_tenants = file("no-tenants.toml", head.clone());
    let unset_source = file(
        "unset-source.toml",
        format!(
            "source_env = \"{UNSET}\"\n{}{}",
            config_header(None, dir.path()),
            tenant("a", "")
        ),
    );
    let empty_source = file(
        "empty-source.toml",
        format!("{}{}", config_header(Some(""), dir.path()), tenant("a", "")),
    );
    let secret = file(
        "secret.toml",
        format!(
            "{head}{}",
            tenant("a", &format!("secrets = {{ password = \"{UNSET}\" }}"))
        ),
    );
    let tcp = file(
        "tcp.toml",
        format!(
            "{head}{}",
            tenant("a", "capabilities = { tcp = [\"127.0.0.1\"] }")
        ),
    );
    let http_scheme = file(
        "http-scheme.toml",
        format!(
            "{head}{}",
            tenant("a", "capabilities = { http = [\"ftp://example.com\"] }")
        ),
    );
    let http_path = file(
        "http-path.toml",
        format!(
            "{head}{}",
            tenant(
                "a",
                "capabilities = { http = [\"http://example.com/hook\"] }"
            )
        ),
    );
    let stdout_dir = file(
        "stdout-dir.toml",
        format!(
            "{head}{}",
            tenant("a", "capabilities = { stdout = \"no-such-dir/out.jsonl\" }")
        ),
    );
    let stdout_shared = file(
        "stdout-shared.toml",
        format!(
            "{head}{}{}",
            tenant("a", "capabilities = { stdout = \"out.jsonl\" }"),
            tenant("b", "capabilities = { stdout = \"out.jsonl\" }")
        ),
    );
    let origin_example = "expected e.g. \"https://api.example.com\" or \"http://127.0.0.1:8080\"";
    let config_cases = [
        both(
            [
                "config: malformed TOML (run)",
                "config: malformed TOML (validate)",
            ],
            &malformed,
            &format!(
                "{}: line 6, column 11: unclosed array table, expected `]`",
                malformed.display()
            ),
        ),
        both(
            [
                "config: unknown key (run)",
                "config: unknown key (validate)",
            ],
            &unknown_key,
            &format!(
                "{}: line 6, column 1: unknown field `slots`, expected one of `source`, \
                 `source_env`, `slot`, `publication`, `tables`, `publish_via_partition_root`, \
                 `state_dir`, `max_wal_lag_mib`, `snapshot`, `snapshot_workers`, \
                 `backfill_new_tenants`, `on_slot_lost`, `metrics_addr`, `heartbeat_interval`, \
                 `stall_timeout`, `sink_threads`, `queue_memory_mib`, `tenants`",
                unknown_key.display()
            ),
        ),
        both(
            ["config: no tenants (run)", "config: no tenants (validate)"],
            &no_tenants,
            &format!(
                "{}: no [[tenants]]: add at least one tenant with an id and a sink",
                no_tenants.display()
            ),
        ),
        both(
            [
                "config: duplicate tenant id (run)",
                "config: duplicate tenant id (validate)",
            ],
            &duplicate,
            &format!(
                "{}: tenant id \"acme\" is used twice: ids must be unique",
                duplicate.display()
            ),
        ),
        both(
            [
                "config: bad tenant id (run)",
                "config: bad tenant id (validate)",
            ],
            &bad_id,
            &format!(
                "{}: tenant id \"acme corp\" must be 1-64 letters, digits, '-' or '_'",
                bad_id.display()
            ),
        ),
        both(
            [
                "config: source_env not set (run)",
                "config: source_env not set (validate)",
            ],
            &unset_source,
            &format!(
                "source_env names the environment variable {UNSET}, which is not set: export it \
                 with the PostgreSQL URL"
            ),
        ),
        both(
            [
                "config: secret not set (run)",
                "config: secret not set (validate)",
            ],
            &secret,
            &format!(
                "tenant \"a\": secret \"password\" comes from the environment variable {UNSET}, \
                 which is not set: export {UNSET} before starting conduit-wasm"
            ),
        ),
        both(
            [
                "config: tcp capability without port (run)",
                "config: tcp capability without port (validate)",
            ],
            &tcp,
            &format!(
                "{}: tenant \"a\": capabilities.tcp \"127.0.0.1\" is not host:port (e.g. \
                 \"127.0.0.1:6379\")",
                tcp.display()
            ),
        ),
        both(
            [
                "config: http capability with another scheme (run)",
                "config: http capability with another scheme (validate)",
            ],
            &http_scheme,
            &format!(
                "{}: tenant \"a\": capabilities.http: \"ftp://example.com\" is not an origin (the \
                 scheme must be http or https); {origin_example}",
                http_scheme.display()
            ),
        ),
        both(
            [
                "config: http capability with a path (run)",
                "config: http capability with a path (validate)",
            ],
            &http_path,
            &format!(
                "{}: tenant \"a\": capabilities.http: \"http://example.com/hook\" is not an origin \
                 (an origin has a host and a port, no path, query or user); {origin_example}",
                http_path.display()
            ),
        ),
    ];
    cases.extend(config_cases.into_iter().flatten());
    cases.extend(both(
        [
            "config: stdout file in a missing directory (run)",
            "config: stdout file in a missing directory (validate)",
        ],
        &stdout_dir,
        &format!(
            "tenant \"a\": capabilities.stdout {}: cannot append to it: No such file or directory \
             (os error 2); give a writable file in an existing directory",
            dir.path().join("no-such-dir/out.jsonl").display()
        ),
    ));
    cases.extend(both(
        [
            "config: two tenants share a stdout file (run)",
            "config: two tenants share a stdout file (validate)",
        ],
        &stdout_shared,
        &format!(
            "{}: tenants \"a\" and \"b\" have the same capabilities.stdout {}: give each tenant \
             its own file",
            stdout_shared.display(),
            dir.path().join("out.jsonl").display()
        ),
    ));
    // 40 tenants need 32 + 40 open files: under a hard limit of 64 (which root may raise,
    // so without CAP_SYS_RESOURCE when the test runs as root) neither command starts.
    let many = (0..40)
        .map(|i| tenant(&format!("t{i}"), ""))
        .collect::<String>();
    let many = file("many-tenants.toml", format!("{head}{many}"));
    let limited: &[&'static str] = if is_root() {
        &[
            "setpriv",
            "--bounding-set=-sys_resource",
            "--",
            "prlimit",
            "--nofile=64:64",
            "--",
        ]
    } else {
        &["prlimit", "--nofile=64:64", "--"]
    };
    cases.extend(
        both(
            [
                "config: more tenants than the open-file limit allows (run)",
                "config: more tenants than the open-file limit allows (validate)",
            ],
            &many,
            "40 tenants may hold up to 72 open files, but this process may open only 64 (hard \
             limit, ulimit -Hn): raise it (ulimit -Hn, or LimitNOFILE= in a systemd unit, nofile \
             in /etc/security/limits.conf) or run fewer tenants per process",
        )
        .map(|c| c.under(limited)),
    );
    // `validate` reads the file's source only after the sinks; `run` fails on it the same way.
    cases.push(case(
        "config: empty source (run)",
        [
            OsString::from("run"),
            "--config".into(),
            empty_source.into(),
        ],
        format!("error: the source URL is empty: {example}"),
    ));
    cases.extend(metrics_cases(&json_sink, &nowhere, &state, dir.path()));
    check_table(cases).await;
}

/// `--metrics-addr` / `metrics_addr` that cannot be served, and `top` with nothing to read.
fn metrics_cases(sink: &Path, nowhere: &str, state: &Path, dir: &Path) -> Vec<Case> {
    let give = "is not an address to listen on: give IP:PORT, e.g. 127.0.0.1:9977 (this host \
                only) or 0.0.0.0:9977 (all interfaces)";
    // Held until the cases have run: the port is in use.
    let taken = Box::leak(Box::new(
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    ));
    let taken = taken.local_addr().unwrap();
    let config = write_file(
        dir,
        "metrics_addr.toml",
        config_header(Some(nowhere), dir) + "metrics_addr = \"9977\"\n\n" + &tenant("a", ""),
    );
    let port = unused_port();
    let mut cases = vec![
        case(
            "--metrics-addr is not an address",
            with(run_args(sink, nowhere, state), &["--metrics-addr", "9977"]),
            format!("error: --metrics-addr \"9977\" {give}"),
        ),
        case(
            "metrics address in use",
            with(
                run_args(sink, nowhere, state),
                &["--metrics-addr", &taken.to_string()],
            ),
            format!(
                "error: cannot serve metrics on {taken} (--metrics-addr or metrics_addr): Address \
                 already in use (os error 98); another process listens there (another \
                 conduit-wasm?): choose a free port"
            ),
        ),
        case(
            "top: no metrics endpoint",
            [
                "top",
                "--once",
                "--metrics-addr",
                &format!("127.0.0.1:{port}"),
            ],
            format!(
                "error: no metrics at http://127.0.0.1:{port}/metrics (Connection refused (os \
                 error 111)): is a run with --metrics-addr 127.0.0.1:{port} (or metrics_addr in \
                 its config) running?"
            ),
        ),
    ];
    cases.extend(both(
        [
            "config: metrics_addr is not an address (run)",
            "config: metrics_addr is not an address (validate)",
        ],
        &config,
        &format!("{}: metrics_addr \"9977\" {give}", config.display()),
    ));
    cases
}

// ---- a trust-auth cluster: database, role, slot, tables, TLS, grants, sink config ---------------

#[tokio::test]
async fn with_a_server() {
    let f = Fixture::new().await;
    let endpoint = format!("127.0.0.1:{}", f.pg.port());
    f.exec(
        "CREATE ROLE app LOGIN NOREPLICATION;
         CREATE TABLE t (id int PRIMARY KEY, name text);
         GRANT SELECT ON t TO app;",
    )
    .await;
    // A role as a DBA would give a change-data-capture tool: REPLICATION and SELECT, but no
    // CREATE on the database, so it cannot create a publication. A second keyed table and a
    // key-less one (which the publication we would create leaves out), and a publication.
    f.exec(
        "CREATE ROLE cdc LOGIN REPLICATION;
         CREATE TABLE t2 (id int PRIMARY KEY);
         CREATE TABLE nopk (a int);
         CREATE TABLE parted (id int, region text, PRIMARY KEY (id, region))
             PARTITION BY LIST (region);
         CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO cdc;
         CREATE PUBLICATION shop FOR TABLE t;",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let json_sink = stdout_json();
    let url = f.pg.url();

    // A first process holds the fixture's slot.
    let mut first = f.start_conduit().await;
    let active_pid = f
        .query_value(&format!(
            "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '{}'",
            f.slot
        ))
        .await;

    // A slot that exists and is free, for a run that wants a new one.
    f.exec("SELECT pg_create_logical_replication_slot('taken_before', 'pgoutput')")
        .await;
    let mut initial_only = run_args(&json_sink, &url, &state);
    initial_only[5] = "taken_before".into();

    let mut cases = vec![
        case(
            "initial-only on an existing slot",
            with(initial_only, &["--snapshot", "initial-only"]),
            "error: --snapshot initial-only: replication slot \"taken_before\" already exists, so \
             its snapshot was taken before; drop the slot or give another --slot to take a new one",
        ),
        case(
            "unknown database",
            run_args(
                &json_sink,
                &f.pg.url_for("postgres", None, "no_such_db"),
                &state,
            ),
            format!(
                "error: database \"no_such_db\" does not exist on {endpoint}: fix the database \
                 name in the source URL"
            ),
        ),
        case(
            "role without REPLICATION",
            run_args(&json_sink, &f.pg.url_for("app", None, "postgres"), &state),
            "error: role \"app\" lacks the REPLICATION attribute: run ALTER ROLE \"app\" WITH \
             REPLICATION; as a superuser, or connect as a role that has it",
        ),
        case(
            "slot already active",
            f.run_config().state_dir(&state).args(),
            format!(
                "error: replication slot \"{}\" is already active in another process (PID \
                 {active_pid}): stop the other consumer, or give this one its own --slot",
                f.slot
            ),
        ),
        case(
            "unknown table in --tables",
            with(
                run_args(&json_sink, &url, &state),
                &["--tables", "t,no_such_table"],
            ),
            "error: unknown table \"no_such_table\" in --tables: no such table in database \
             \"postgres\"; give existing tables as name or schema.name",
        ),
        case(
            "sslmode=require, server without TLS",
            run_args(&json_sink, &format!("{url}?sslmode=require"), &state),
            format!(
                "error: the server at {endpoint} does not support TLS but sslmode=require: enable \
                 TLS on the server (ssl = on, with ssl_cert_file and ssl_key_file, in \
                 postgresql.conf) or use sslmode=prefer or disable in the source URL"
            ),
        ),
        case(
            "role may not create the publication",
            vec![
                OsString::from("run"),
                json_sink.clone().into(),
                "--source".into(),
                f.pg.url_for("cdc", None, "postgres").into(),
                "--slot".into(),
                "bad_input".into(),
                "--state-dir".into(),
                state.clone().into(),
            ],
            "error: role \"cdc\" may not create publication \"conduit\" (permission denied for \
             database postgres): have a superuser run CREATE PUBLICATION \"conduit\" FOR TABLE \
             public.parted, public.t, public.t2 WITH (publish_via_partition_root = true); then \
             run again, or pass --publication with an existing publication",
        ),
        case(
            "misspelt --publication",
            with(
                publication(
                    run_args(&json_sink, &f.pg.url_for("cdc", None, "postgres"), &state),
                    "shpo",
                ),
                &["--tables", "t"],
            ),
            "error: publication \"shpo\" does not exist, and role \"cdc\" may not create it \
             (permission denied for database postgres): if the name is misspelt, fix it (this \
             database has \"bad_input\", \"conduit_e2e_pub\", \"shop\"); otherwise have a \
             superuser run CREATE PUBLICATION \"shpo\" FOR TABLE public.t WITH \
             (publish_via_partition_root = true); then run again",
        ),
        case(
            "--tables disagrees with an existing publication",
            with(
                publication(run_args(&json_sink, &url, &state), "shop"),
                &["--tables", "t2"],
            ),
            "error: --tables disagrees with the existing publication \"shop\": it does not \
             publish public.t2, and it publishes public.t, which --tables leaves out; --tables \
             only chooses the tables of a publication that run creates, so leave --tables out to \
             stream what \"shop\" publishes, or make it agree: ALTER PUBLICATION \"shop\" ADD \
             TABLE public.t2; ALTER PUBLICATION \"shop\" DROP TABLE public.t",
        ),
        case(
            "sink rejects its config",
            run_args(&sink("filter-reshape"), &url, &state),
            format!(
                "error: {}: sink connect failed and cannot be retried: missing sink config \
                 `table`: pass --sink-config table=<value>",
                sink("filter-reshape").display()
            ),
        ),
    ];

    // Grants, checked against the live schema by `run --config` and `validate --config`.
    let head = config_header(Some(&url), dir.path());
    let grant = |name: &str, grant: &str| {
        write_file(
            dir.path(),
            name,
            format!(
                "{head}{}\n[[tenants.grants]]\n{grant}\n",
                tenant("acme", "")
            ),
        )
    };
    let grant_cases = [
        both(
            [
                "grant: unknown table (run)",
                "grant: unknown table (validate)",
            ],
            &grant("unknown-table.toml", "tables = [\"public.no_such_table\"]"),
            "tenant \"acme\": grant 1: table public.no_such_table does not exist or is not in the \
             publication: fix the table in the grant (schema.table), or add it to publication \
             \"bad_input\"",
        ),
        both(
            [
                "grant: a partition of a table published via its root (run)",
                "grant: a partition of a table published via its root (validate)",
            ],
            &grant("partition.toml", "tables = [\"public.parted_eu\"]"),
            "tenant \"acme\": grant 1: table public.parted_eu is a partition of public.parted, and \
             publication \"bad_input\" publishes its changes under public.parted: grant \
             public.parted instead (a where-clause on the partition key keeps one partition's \
             rows)",
        ),
        both(
            [
                "grant: unknown column (run)",
                "grant: unknown column (validate)",
            ],
            &grant(
                "unknown-column.toml",
                "tables = [\"public.t\"]\ncolumns = [\"id\", \"no_such_column\"]",
            ),
            "tenant \"acme\": table public.t has no column \"no_such_column\" (grant 1 columns)",
        ),
        both(
            [
                "grant: predicate syntax error (run)",
                "grant: predicate syntax error (validate)",
            ],
            &grant(
                "predicate-syntax.toml",
                "tables = [\"public.t\"]\nwhere = \"id = = 1\"",
            ),
            "tenant \"acme\": grant 1 where-clause at offset 5: expected a value after '=', found =",
        ),
        both(
            [
                "grant: predicate type mismatch (run)",
                "grant: predicate type mismatch (validate)",
            ],
            &grant(
                "predicate-type.toml",
                "tables = [\"public.t\"]\nwhere = \"id = 'abc'\"",
            ),
            "tenant \"acme\": grant 1 where-clause at offset 5 (table public.t): cannot compare \
             column \"id\" (integer) with 'abc': expected a number (without quotes)",
        ),
    ];
    cases.extend(grant_cases.into_iter().flatten());
    check_table(cases).await;

    // The sink that rejected its configuration was connected after the slot was created (so that
    // nothing committed during a long compile is missed); the failed run dropped it again.
    assert_eq!(
        slot_info(&f.client, "bad_input").await,
        None,
        "a failed run left its new slot behind"
    );

    // The first process was not disturbed.
    assert!(first.is_running(), "the first process still runs");
    f.exec("INSERT INTO t VALUES (1, 'one')").await;
    first.wait_for_lines(1, line_deadline()).await;
    first.terminate_ok().await;
}

// ---- a SCRAM cluster without wal_level=logical: password, wal_level -----------------------------

#[tokio::test]
async fn with_a_scram_server_without_logical_wal() {
    let f = Fixture::with_options(
        ScratchOptions::default()
            .fsync_off()
            .without_logical_wal()
            .scram("conduit", "right-password"),
    )
    .await;
    assert_eq!(f.query_value("SHOW wal_level").await, "replica");
    let endpoint = format!("127.0.0.1:{}", f.pg.port());
    let state = tempfile::tempdir().unwrap();
    let json_sink = stdout_json();
    let cases =
        vec![
        case(
            "authentication failed",
            run_args(
                &json_sink,
                &f.pg.url_for("conduit", Some("wrong-password"), "postgres"),
                state.path(),
            ),
            format!(
                "error: authentication failed for user \"conduit\" at {endpoint}: password \
                 authentication failed for user \"conduit\"; check the user and password in the \
                 source URL and the server's pg_hba.conf"
            ),
        ),
        case(
            "password missing",
            run_args(&json_sink, &f.pg.url_for("conduit", None, "postgres"), state.path()),
            format!(
                "error: authentication failed for user \"conduit\" at {endpoint}: the server asks \
                 for a password; put it in the source URL (postgres://user:password@host/db)"
            ),
        ),
        case(
            "wal_level is not logical",
            run_args(&json_sink, &f.pg.url(), state.path()),
            "error: the server's wal_level is 'replica' but logical replication needs 'logical': \
             run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL",
        ),
    ];
    check_table(cases).await;
}
