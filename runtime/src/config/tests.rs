use super::*;

fn load(text: &str) -> Result<FileConfig, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conduit.toml");
    std::fs::write(&path, text).unwrap();
    FileConfig::load(&path).map_err(|e| e.to_string())
}

const TWO_TENANTS: &str = r#"
source = "postgres://postgres@127.0.0.1/postgres"
slot = "s1"

[[tenants]]
id = "acme"
sink = "sinks/a.wasm"
config = { stream = "orders" }
limits = { memory_mib = 32 }
capabilities = { tcp = ["127.0.0.1:6379"], clocks = true }

[[tenants.grants]]
tables = ["public.orders"]
where = "tenant_id = 'acme'"

[[tenants]]
id = "globex"
sink = "/abs/b.wasm"
"#;

#[test]
fn parses_two_tenants_with_defaults() {
    let c = load(TWO_TENANTS).unwrap();
    assert_eq!(c.slot, "s1");
    assert_eq!(c.publication_name(), "conduit");
    assert!(c.publication.is_none() && c.publish_via_partition_root);
    assert_eq!(c.tenants.len(), 2);
    let acme = &c.tenants[0];
    assert!(acme.sink.ends_with("sinks/a.wasm") && acme.sink.is_absolute());
    assert_eq!(acme.limits.memory_mib, 32);
    assert_eq!(acme.limits.max_batch, TenantLimits::default().max_batch);
    assert_eq!(
        acme.grants[0].where_clause.as_deref(),
        Some("tenant_id = 'acme'")
    );
    let caps = acme.sink_capabilities().unwrap();
    assert_eq!(caps.tcp_connect, vec!["127.0.0.1:6379".parse().unwrap()]);
    assert!(caps.clocks && !caps.random);
    assert_eq!(c.tenants[1].sink, PathBuf::from("/abs/b.wasm"));
    assert!(c.tenants[1].grants.is_empty());
}

#[test]
fn errors_are_one_line_and_name_the_spot() {
    let e = load("[[tenants]]\nid = \"a\"\nsink = \"x.wasm\"\nlimts = {}\n").unwrap_err();
    assert!(!e.contains('\n'), "{e}");
    assert!(e.contains("line 4") && e.contains("limts"), "{e}");
    let e = load("[[tenants]]\nid = \"a b\"\nsink = \"x.wasm\"\n").unwrap_err();
    assert!(e.contains("\"a b\""), "{e}");
    let e = load("[[tenants]]\nid = \"a\"\nsink = \"x\"\n[[tenants]]\nid = \"a\"\nsink = \"y\"\n")
        .unwrap_err();
    assert!(e.contains("used twice"), "{e}");
    let e = load("tenants = []\n").unwrap_err();
    assert!(e.contains("no [[tenants]]"), "{e}");
    let e = load("slot = \"s\"\n").unwrap_err();
    assert!(e.contains("no [[tenants]]"), "{e}");
    let e =
        load("[[tenants]]\nid = \"a\"\nsink = \"x\"\ncapabilities = { http = [\"ftp://x\"] }\n")
            .unwrap_err();
    assert!(e.contains("capabilities.http"), "{e}");
}

#[test]
fn secrets_come_from_the_environment() {
    let c = load(
        "[[tenants]]\nid = \"a\"\nsink = \"x\"\nsecrets = { token = \"CONDUIT_TEST_SECRET_XYZ\" }\n",
    )
    .unwrap();
    let e = c.tenants[0].sink_config().unwrap_err();
    assert!(
        e.contains("CONDUIT_TEST_SECRET_XYZ") && e.contains("not set"),
        "{e}"
    );
}

#[test]
fn origins_are_checked_at_load() {
    let ok = load("[[tenants]]\nid = \"a\"\nsink = \"x\"\ncapabilities = { http = [\"http://[::1]\", \"https://X.io\"] }\n")
        .unwrap();
    let caps = ok.tenants[0].sink_capabilities().unwrap();
    assert_eq!(caps.http_origins[0].port, 80);
    assert_eq!(caps.http_origins[1].host, "x.io");
    let e = load(
        "[[tenants]]\nid = \"a\"\nsink = \"x\"\ncapabilities = { http = [\"http://x.io/path\"] }\n",
    )
    .unwrap_err();
    assert!(e.contains("capabilities.http"), "{e}");
}

#[test]
fn stdout_is_a_file_relative_to_the_config_and_one_per_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conduit.toml");
    std::fs::write(
        &path,
        "[[tenants]]\nid = \"a\"\nsink = \"x\"\ncapabilities = { stdout = \"a.jsonl\" }\n",
    )
    .unwrap();
    let c = FileConfig::load(&path).unwrap();
    let caps = c.tenants[0].sink_capabilities().unwrap();
    let file = caps.output.file().expect("a stdout file");
    assert_eq!(file.path(), dir.path().join("a.jsonl"));
    assert!(dir.path().join("a.jsonl").is_file(), "created at start");

    let e = load(
        "[[tenants]]\nid = \"a\"\nsink = \"x\"\ncapabilities = { stdout = \"/o\" }\n\
         [[tenants]]\nid = \"b\"\nsink = \"x\"\ncapabilities = { stdout = \"/o\" }\n",
    )
    .unwrap_err();
    assert!(e.contains("same capabilities.stdout"), "{e}");
    let c = load(
        "[[tenants]]\nid = \"a\"\nsink = \"x\"\ncapabilities = { stdout = \"/no/such/dir/o\" }\n",
    )
    .unwrap();
    let e = c.tenants[0].sink_capabilities().unwrap_err();
    assert!(
        e.contains("capabilities.stdout /no/such/dir/o: cannot append"),
        "{e}"
    );
}
