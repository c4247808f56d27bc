//! `conduit-wasm scratch-server` (hidden): a throwaway PostgreSQL for scripts outside this crate.
//!
//! `cargo xtask bench` is std-only and must not grow its own copy of [`crate::scratch`]; it runs
//! this instead. It starts a [`ScratchCluster`] (trust authentication, `wal_level=logical`, plus
//! any `--conf KEY=VALUE`), prints one `key=value` line each for `url`, `bindir`, `socket_dir`,
//! `data_dir` and `log`, then a line `ready`, and keeps the server running until its standard
//! input reaches end of file (the parent went away, or closed the pipe) or it gets SIGINT/SIGTERM;
//! then it stops the server and deletes its files.

use std::io::{Read, Write};

use clap::Args;

use crate::scratch::{PgBinaries, ScratchCluster, ScratchOptions};

#[derive(Debug, Args)]
pub struct ScratchServerArgs {
    /// A `postgresql.conf` setting, applied after the built-in ones (repeatable).
    #[arg(long = "conf", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub conf: Vec<(String, String)>,
    /// Start with `fsync=off` (faster to load; a machine crash loses the data).
    #[arg(long)]
    pub fsync_off: bool,
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

pub async fn scratch_server(args: ScratchServerArgs) -> anyhow::Result<()> {
    let mut opts = ScratchOptions::default();
    for (key, value) in args.conf {
        opts = opts.conf(key, value);
    }
    if args.fsync_off {
        opts = opts.fsync_off();
    }
    let pg = ScratchCluster::start(opts).await?;
    let bins = PgBinaries::find()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "url={}", pg.url())?;
        writeln!(out, "bindir={}", bins.bin_dir.display())?;
        writeln!(out, "socket_dir={}", pg.socket_dir().display())?;
        writeln!(out, "data_dir={}", pg.data_dir().display())?;
        writeln!(out, "log={}", pg.log_path().display())?;
        writeln!(out, "ready")?;
        out.flush()?;
    }

    // A plain thread, not `spawn_blocking`: the runtime would wait for a blocked stdin read when
    // it shuts down.
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 256];
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            let _ = eof_tx.send(());
        })?;
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = eof_rx => {}
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tokio::task::spawn_blocking(move || pg.stop()).await?;
    Ok(())
}
