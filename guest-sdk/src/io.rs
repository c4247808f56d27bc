//! Standard output and error that reach the runtime whichever way the sink was built.
//!
//! A sink built for `wasm32-wasip2` (the ordinary route) can use `std::io::stdout()`,
//! `println!` and `eprintln!`: Rust's std writes them through WASI. A sink built for
//! `wasm32-unknown-unknown` (the Debian `rustc-web` fallback of `cargo xtask build-sinks`, then
//! made a component) cannot: there std *discards* everything written to stdout and stderr, and
//! panic messages with it. [`stdout`], [`stderr`], [`println!`](crate::println) and
//! [`eprintln!`](crate::eprintln) write to the WASI streams on both: on `wasm32-wasip2` (and
//! natively, for tests) they are std's own, so nothing changes there; on `wasm32-unknown-unknown`
//! they call `wasi:cli/stdout` and `wasi:cli/stderr` directly. On that target the SDK also
//! installs a panic hook that prints the panic message to WASI stderr, as std does on wasip2.
//!
//! Use these in a sink that should build either way; std's work too on `wasm32-wasip2`.

use std::fmt;
use std::io::{self, Write};

/// Everywhere but `wasm32-unknown-unknown` std's own stdio reaches WASI (or the terminal).
#[cfg(not(all(target_family = "wasm", target_os = "unknown")))]
mod imp {
    pub type Stream<const ERR: bool> = StdStream<ERR>;

    /// std's stdout (`ERR = false`) or stderr.
    pub struct StdStream<const ERR: bool>;

    impl<const ERR: bool> StdStream<ERR> {
        pub fn new() -> Self {
            StdStream
        }
    }

    impl<const ERR: bool> std::io::Write for StdStream<ERR> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if ERR {
                std::io::stderr().write(buf)
            } else {
                std::io::stdout().write(buf)
            }
        }

        fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
            if ERR {
                std::io::stderr().write_all(buf)
            } else {
                std::io::stdout().write_all(buf)
            }
        }

        fn flush(&mut self) -> std::io::Result<()> {
            if ERR {
                std::io::stderr().flush()
            } else {
                std::io::stdout().flush()
            }
        }

        fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
            if ERR {
                std::io::stderr().write_fmt(args)
            } else {
                std::io::stdout().write_fmt(args)
            }
        }
    }

    pub fn install_panic_hook() {}
}

/// `wasm32-unknown-unknown`: the WASI streams through `wasip2`'s bindings.
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
mod imp {
    use wasip2::io::streams::OutputStream;

    /// `wasi:cli/stdout` (`ERR = false`) or `wasi:cli/stderr`.
    pub struct Stream<const ERR: bool>(OutputStream);

    /// The most `blocking-write-and-flush` accepts in one call.
    const CHUNK: usize = 4096;

    impl<const ERR: bool> Stream<ERR> {
        pub fn new() -> Self {
            Stream(if ERR {
                wasip2::cli::stderr::get_stderr()
            } else {
                wasip2::cli::stdout::get_stdout()
            })
        }
    }

    impl<const ERR: bool> std::io::Write for Stream<ERR> {
        /// Unbuffered, like std's stderr: what is written is flushed before this returns.
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(CHUNK);
            self.0
                .blocking_write_and_flush(&buf[..n])
                .map_err(stream_error)?;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            self.0.blocking_flush().map_err(stream_error)
        }

        /// One write per formatted message, not one per piece of it.
        fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
            match args.as_str() {
                Some(s) => self.write_all(s.as_bytes()),
                None => self.write_all(args.to_string().as_bytes()),
            }
        }
    }

    fn stream_error(e: wasip2::io::streams::StreamError) -> std::io::Error {
        use wasip2::io::streams::StreamError;
        match e {
            StreamError::Closed => std::io::ErrorKind::BrokenPipe.into(),
            StreamError::LastOperationFailed(e) => std::io::Error::other(e.to_debug_string()),
        }
    }

    /// std's default hook prints to the discarding stderr: print the message where wasip2's std
    /// would, before `panic = "abort"` traps. Once per instance (a trap re-creates the instance).
    pub fn install_panic_hook() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                use std::io::Write;
                let _ = writeln!(Stream::<true>::new(), "thread '<unnamed>' {info}");
            }));
        });
    }
}

pub(crate) use imp::install_panic_hook;

/// The sink's standard output (see the [module docs](self)). Unbuffered: wrap it in a
/// `BufWriter` to write many small pieces.
pub struct Stdout(imp::Stream<false>);

/// The sink's standard error (see the [module docs](self)). Unbuffered.
pub struct Stderr(imp::Stream<true>);

/// The sink's standard output: std's on `wasm32-wasip2`, `wasi:cli/stdout` on
/// `wasm32-unknown-unknown`.
pub fn stdout() -> Stdout {
    Stdout(imp::Stream::new())
}

/// The sink's standard error: std's on `wasm32-wasip2`, `wasi:cli/stderr` on
/// `wasm32-unknown-unknown`.
pub fn stderr() -> Stderr {
    Stderr(imp::Stream::new())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        self.0.write_fmt(args)
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        self.0.write_fmt(args)
    }
}

/// What [`println!`](crate::println) expands to. Panics when the write fails, as `println!` does.
#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    if let Err(e) = stdout().write_fmt(args) {
        panic!("failed printing to stdout: {e}");
    }
}

/// What [`eprintln!`](crate::eprintln) expands to. Panics when the write fails, as `eprintln!`
/// does.
#[doc(hidden)]
pub fn _eprint(args: fmt::Arguments<'_>) {
    if let Err(e) = stderr().write_fmt(args) {
        panic!("failed printing to stderr: {e}");
    }
}

/// `println!` that reaches the runtime on every build route ([`io::stdout`](crate::io::stdout)).
/// `use conduit_sink_sdk::println;` to use it in place of std's.
#[macro_export]
macro_rules! println {
    () => {
        $crate::io::_print(::std::format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::io::_print(::std::format_args!("{}\n", ::std::format_args!($($arg)*)))
    };
}

/// `eprintln!` that reaches the runtime on every build route ([`io::stderr`](crate::io::stderr)).
/// `use conduit_sink_sdk::eprintln;` to use it in place of std's.
#[macro_export]
macro_rules! eprintln {
    () => {
        $crate::io::_eprint(::std::format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::io::_eprint(::std::format_args!("{}\n", ::std::format_args!($($arg)*)))
    };
}
