//! A minimal Redis client (RESP over TCP) and a private `redis-server`, for the tests of sinks that
//! write to Redis.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::{eventually_blocking, unused_port};

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn text(&self) -> &str {
        match self {
            Reply::Simple(s) | Reply::Bulk(Some(s)) => s,
            other => panic!("expected a string reply, got {other:?}"),
        }
    }
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }
    pub fn items(&self) -> &[Reply] {
        match self {
            Reply::Array(Some(items)) => items,
            other => panic!("expected an array reply, got {other:?}"),
        }
    }
}

pub struct Resp {
    conn: BufReader<TcpStream>,
}

impl Resp {
    pub fn connect(addr: SocketAddr) -> std::io::Result<Resp> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Resp {
            conn: BufReader::new(stream),
        })
    }

    pub fn try_cmd(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out += &format!("${}\r\n{a}\r\n", a.len());
        }
        self.conn.get_mut().write_all(out.as_bytes())?;
        read_reply(&mut self.conn)
    }

    /// Sends a command; panics on an I/O error or an error reply.
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        match self.try_cmd(args) {
            Ok(Reply::Error(e)) => panic!("redis {args:?}: {e}"),
            Ok(reply) => reply,
            Err(e) => panic!("redis {args:?}: {e}"),
        }
    }
}

pub fn read_reply(r: &mut impl BufRead) -> std::io::Result<Reply> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let line = line.trim_end_matches("\r\n");
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{line:?}"));
    let (kind, rest) = line.split_at_checked(1).ok_or_else(bad)?;
    let n = || rest.parse::<i64>().map_err(|_| bad());
    Ok(match kind {
        "+" => Reply::Simple(rest.into()),
        "-" => Reply::Error(rest.into()),
        ":" => Reply::Int(n()?),
        "$" if n()? < 0 => Reply::Bulk(None),
        "$" => {
            let mut data = vec![0; n()? as usize + 2];
            r.read_exact(&mut data)?;
            data.truncate(data.len() - 2);
            Reply::Bulk(Some(String::from_utf8(data).map_err(|_| bad())?))
        }
        "*" if n()? < 0 => Reply::Array(None),
        "*" => Reply::Array(Some(
            (0..n()?)
                .map(|_| read_reply(r))
                .collect::<std::io::Result<_>>()?,
        )),
        _ => return Err(bad()),
    })
}

pub struct Redis {
    pub addr: SocketAddr,
    pub password: Option<String>,
    child: Option<Child>,
}

impl Redis {
    /// The server on 127.0.0.1:6379 if it answers PING without a password, else a new one.
    pub fn shared_or_new() -> Redis {
        let default: SocketAddr = "127.0.0.1:6379".parse().unwrap();
        let answers = Resp::connect(default)
            .and_then(|mut c| c.try_cmd(&["PING"]))
            .is_ok_and(|r| r == Reply::Simple("PONG".into()));
        if answers {
            return Redis {
                addr: default,
                password: None,
                child: None,
            };
        }
        Redis::start(None)
    }

    /// `redis-server` on a free loopback port, without persistence, killed on drop.
    pub fn start(password: Option<&str>) -> Redis {
        let port = unused_port();
        let mut cmd = std::process::Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("starting redis-server: {e} (install it: sudo apt-get install redis-server)")
        });
        let mut redis = Redis {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            password: password.map(str::to_string),
            child: Some(child),
        };
        eventually_blocking(
            &format!("redis-server on port {port} to answer"),
            Duration::from_secs(20),
            || {
                // Any reply (NOAUTH included) means it is serving.
                let error = match Resp::connect(redis.addr).and_then(|mut c| c.try_cmd(&["PING"])) {
                    Ok(_) => return Ok(()),
                    Err(e) => e,
                };
                if let Some(status) = redis
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    panic!("redis-server on port {port} exited: {status}");
                }
                Err(format!("PING: {error}"))
            },
        );
        redis
    }

    pub fn client(&self) -> Resp {
        let mut c = Resp::connect(self.addr)
            .unwrap_or_else(|e| panic!("connecting to redis at {}: {e}", self.addr));
        if let Some(p) = &self.password {
            c.cmd(&["AUTH", p]);
        }
        c
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A stream key no other test (or run) uses.
pub fn unique_key(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("conduit-e2e-{test}-{}-{nanos}", std::process::id())
}

impl Resp {
    /// `XRANGE key - +` as (entry id, fields in order).
    pub fn xrange(&mut self, key: &str) -> Vec<(String, Vec<(String, String)>)> {
        self.cmd(&["XRANGE", key, "-", "+"])
            .items()
            .iter()
            .map(|entry| {
                let e = entry.items();
                let fields = e[1]
                    .items()
                    .chunks(2)
                    .map(|kv| (kv[0].text().to_string(), kv[1].text().to_string()))
                    .collect();
                (e[0].text().to_string(), fields)
            })
            .collect()
    }
}
