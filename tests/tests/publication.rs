//! The publication must never make an application statement fail.
//!
//! PostgreSQL refuses `UPDATE` and `DELETE` on a table without a replica identity (no primary
//! key, `REPLICA IDENTITY DEFAULT` or `NOTHING`) once a publication publishes its updates or
//! deletes: `cannot update table "nopk" because it does not have a replica identity and publishes
//! updates`. The publication `run` creates must leave such tables out, and `validate` and `run`
//! must name them when an existing publication exposes them.

use conduit_e2e::*;

/// Runs `sql` as the application would, failing the test with the server's message.
async fn app(f: &Fixture, sql: &str) {
    if let Err(e) = f.client.batch_execute(sql).await {
        panic!(
            "the application's statement failed: {}\n{sql}",
            pg_error(&e)
        );
    }
}

/// Waits (briefly) until stderr contains `needle`: log lines written before streaming started
/// may still be in the pipe when `wait_streaming` returns.
async fn stderr_with(c: &Running, needle: &str) -> String {
    for _ in 0..100 {
        let s = c.stderr();
        if s.contains(needle) {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("stderr never contained {needle:?}:\n{}", c.stderr());
}

/// `validate --config FILE` for the fixture (one tenant that sees everything).
async fn validate(f: &Fixture) -> Finished {
    let path = f.state.path().join("conduit.toml");
    f.tenants_file(vec![Tenant::new("acme", stdout_json())])
        .write(&path);
    Running::spawn(conduit_command([
        std::ffi::OsString::from("validate"),
        "--config".into(),
        path.into(),
    ]))
    .wait_exit(exit_deadline())
    .await
}

/// The WARN lines of a run's or validate's standard error that mention `needle`.
fn warnings<'a>(stderr: &'a str, needle: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains(needle))
        .collect()
}

#[tokio::test]
async fn the_publication_run_creates_leaves_key_less_tables_writable() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE keyed (id int PRIMARY KEY, v text);
         CREATE TABLE nopk (a int, b text);
         INSERT INTO nopk VALUES (1, 'one'), (2, 'two');
         CREATE TABLE full_ident (a int, b text);
         ALTER TABLE full_ident REPLICA IDENTITY FULL;
         CREATE TABLE nothing_ident (id int PRIMARY KEY, b text);
         ALTER TABLE nothing_ident REPLICA IDENTITY NOTHING;
         INSERT INTO nothing_ident VALUES (1, 'one');",
    )
    .await;
    let mut c = f.start_conduit().await;

    // The application's writes to the key-less tables still work...
    app(&f, "UPDATE nopk SET b = 'uno' WHERE a = 1").await;
    app(&f, "DELETE FROM nopk WHERE a = 2").await;
    app(&f, "UPDATE nothing_ident SET b = 'uno' WHERE id = 1").await;
    app(&f, "DELETE FROM nothing_ident WHERE id = 1").await;
    // ...and so do those to a key-less table created after the publication.
    app(
        &f,
        "CREATE TABLE later (a int);
         INSERT INTO later VALUES (1), (2);
         UPDATE later SET a = 3 WHERE a = 1;
         DELETE FROM later WHERE a = 2;",
    )
    .await;

    // The tables with a replica identity are streamed, updates and deletes included.
    app(
        &f,
        "INSERT INTO keyed VALUES (1, 'one');
         UPDATE keyed SET v = 'uno' WHERE id = 1;
         DELETE FROM keyed WHERE id = 1;
         INSERT INTO full_ident VALUES (1, 'one');
         UPDATE full_ident SET b = 'uno' WHERE a = 1;",
    )
    .await;
    let lines = c.wait_for_lines(5, line_deadline()).await.to_vec();
    let seen: Vec<(String, String)> = lines
        .iter()
        .map(|l| (table(l).to_string(), op(l).to_string()))
        .collect();
    let expect = |t: &str, o: &str| (t.to_string(), o.to_string());
    assert_eq!(
        seen,
        vec![
            expect("keyed", "insert"),
            expect("keyed", "update"),
            expect("keyed", "delete"),
            expect("full_ident", "insert"),
            expect("full_ident", "update"),
        ],
        "{lines:#?}"
    );

    // What was created, and the warning that names what was left out and the fix.
    let published = query_text(
        &f.client,
        "SELECT p.puballtables::text, \
                (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables \
                  WHERE pubname = p.pubname) \
           FROM pg_publication p WHERE pubname = 'conduit_e2e_pub'",
    )
    .await;
    assert_eq!(
        published,
        vec![vec![
            Some("false".to_string()),
            Some("full_ident,keyed".to_string())
        ]]
    );
    let stderr = stderr_with(&c, "public.nopk").await;
    let left_out = warnings(&stderr, "public.nopk");
    assert_eq!(left_out.len(), 1, "one warning names the table:\n{stderr}");
    for needle in [
        "public.nothing_ident",
        "REPLICA IDENTITY FULL",
        "primary key",
        "ALTER PUBLICATION \"conduit_e2e_pub\" ADD TABLE",
    ] {
        assert!(left_out[0].contains(needle), "{needle}: {}", left_out[0]);
    }
    assert!(
        !warnings(&stderr, "created later").is_empty(),
        "the tables created later are not covered, and the log says so:\n{stderr}"
    );
    let done = c.terminate_ok().await;
    assert_eq!(done.lines.len(), 5, "{:#?}", done.lines);
}

#[tokio::test]
async fn an_existing_publication_that_blocks_writes_is_named() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE keyed (id int PRIMARY KEY);
         CREATE TABLE nopk (a int);
         CREATE PUBLICATION conduit_e2e_pub FOR TABLE keyed, nopk;",
    )
    .await;
    // The hazard is real: this is what the application sees.
    let e = f
        .client
        .batch_execute("UPDATE nopk SET a = 1")
        .await
        .expect_err("a publication of nopk's updates blocks them");
    assert!(pg_error(&e).contains("does not have a replica identity"));

    let checked = validate(&f).await;
    assert!(checked.status.success(), "{}", checked.stderr);
    let named = warnings(&checked.stderr, "public.nopk");
    assert_eq!(named.len(), 1, "validate:\n{}", checked.stderr);
    for needle in [
        "conduit_e2e_pub",
        "REPLICA IDENTITY FULL",
        "primary key",
        "DROP TABLE",
    ] {
        assert!(named[0].contains(needle), "{needle}: {}", named[0]);
    }
    assert!(!named[0].contains("public.keyed"), "{}", named[0]);

    let c = f.start_conduit().await;
    let stderr = stderr_with(&c, "public.nopk").await;
    assert_eq!(warnings(&stderr, "public.nopk").len(), 1, "run:\n{stderr}");
    c.terminate_ok().await;

    // Publishing only inserts does not block anything, and is not warned about.
    f.exec("ALTER PUBLICATION conduit_e2e_pub SET (publish = 'insert, truncate')")
        .await;
    app(&f, "UPDATE nopk SET a = 1").await;
    let checked = validate(&f).await;
    assert!(checked.status.success(), "{}", checked.stderr);
    assert_eq!(
        warnings(&checked.stderr, "nopk"),
        Vec::<&str>::new(),
        "{}",
        checked.stderr
    );

    // FOR ALL TABLES: named too, with the tables created later.
    f.exec(
        "DROP PUBLICATION conduit_e2e_pub;
         CREATE PUBLICATION conduit_e2e_pub FOR ALL TABLES;",
    )
    .await;
    let checked = validate(&f).await;
    assert!(checked.status.success(), "{}", checked.stderr);
    let named = warnings(&checked.stderr, "public.nopk");
    assert_eq!(named.len(), 1, "validate:\n{}", checked.stderr);
    assert!(
        named[0].contains("FOR ALL TABLES") && named[0].contains("created later"),
        "{}",
        named[0]
    );
}
