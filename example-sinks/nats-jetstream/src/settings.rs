//! The sink's configuration, and the subject template.

use std::time::Duration;

use conduit_sink_sdk::{Config, SinkError};

use crate::proto::Auth;

/// The default subject template.
pub const DEFAULT_SUBJECT: &str = "cdc.{schema}.{table}";

/// The sink's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub addr: String,
    pub subject: Template,
    pub auth: Auth,
    /// `Nats-Expected-Stream`: JetStream refuses a message that another stream would capture.
    pub stream: Option<String>,
    /// Put before `<lsn>-<seq>` in `Nats-Msg-Id` (for tenants that share one stream).
    pub msg_id_prefix: String,
    /// Chain the messages of one send with `Nats-Expected-Last-Msg-Id`, so that a rejected
    /// message is never followed by a stored one (which its retry would then come after).
    pub ordered: bool,
    /// Messages written before their acknowledgements are read.
    pub max_in_flight: usize,
    pub timeout: Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> Result<Settings, SinkError> {
        let addr = config.require("addr")?.trim().to_string();
        if addr
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse::<u16>().ok())
            .is_none()
        {
            return Err(SinkError::fatal(format!(
                "sink config `addr={addr}` is not host:port (e.g. 127.0.0.1:4222)"
            )));
        }
        let subject = Template::parse(config.get_or("subject", DEFAULT_SUBJECT))?;
        let non_empty = |k: &str| config.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        let auth = Auth {
            user: non_empty("user"),
            password: non_empty("password"),
            token: non_empty("token"),
        };
        if auth.user.is_some() != auth.password.is_some() {
            return Err(SinkError::fatal(
                "sink config has only one of `user` and `password`: give both (password as a secret), or neither",
            ));
        }
        if auth.token.is_some() && auth.user.is_some() {
            return Err(SinkError::fatal(
                "sink config has both `token` and `user`/`password`: give one way to authenticate",
            ));
        }
        let stream = non_empty("stream");
        if let Some(s) = &stream {
            if s.contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>')) {
                return Err(SinkError::fatal(format!(
                    "sink config `stream={s}` is not a JetStream stream name (no spaces, `.`, `*` or `>`)"
                )));
            }
        }
        let msg_id_prefix = config.get_or("msg_id_prefix", "").to_string();
        if msg_id_prefix.contains(['\r', '\n']) {
            return Err(SinkError::fatal(
                "sink config `msg_id_prefix` must be on one line",
            ));
        }
        let ordered = match config.get_or("ordered", "true").trim() {
            "true" => true,
            "false" => false,
            other => {
                return Err(SinkError::fatal(format!(
                    "sink config `ordered={other}` is invalid: use true or false"
                )))
            }
        };
        let max_in_flight = config.parse::<usize>("max_in_flight")?.unwrap_or(256);
        if !(1..=10_000).contains(&max_in_flight) {
            return Err(SinkError::fatal(format!(
                "sink config `max_in_flight={max_in_flight}` is out of range: use 1 to 10000"
            )));
        }
        let timeout_ms = config.parse::<u64>("timeout_ms")?.unwrap_or(10_000);
        if timeout_ms == 0 {
            return Err(SinkError::fatal(
                "sink config `timeout_ms` must be positive",
            ));
        }
        Ok(Settings {
            addr,
            subject,
            auth,
            stream,
            msg_id_prefix,
            ordered,
            max_in_flight,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

/// A piece of a subject template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Schema,
    Table,
    Op,
}

/// A subject template: text with `{schema}`, `{table}` and `{op}`, e.g. `cdc.{schema}.{table}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, SinkError> {
        let bad = |why: &str| {
            SinkError::fatal(format!(
                "sink config `subject={text}` {why}: use dot-separated tokens with {{schema}}, {{table}} or {{op}}, e.g. {DEFAULT_SUBJECT}"
            ))
        };
        if text.trim().is_empty() {
            return Err(bad("is empty"));
        }
        if text.contains(|c: char| c.is_whitespace() || c == '*' || c == '>') {
            return Err(bad("contains a space or a wildcard (`*`, `>`)"));
        }
        if text.starts_with('.') || text.ends_with('.') || text.contains("..") {
            return Err(bad("has an empty token"));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| bad("has a `{` without `}`"))?;
            parts.push(match &rest[open + 1..open + close] {
                "schema" => Part::Schema,
                "table" => Part::Table,
                "op" => Part::Op,
                other => return Err(bad(&format!("names an unknown field `{{{other}}}`"))),
            });
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(bad("has a `}` without `{`"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The subject of one change. A name that cannot be a subject token as it is (a `.`, a
    /// space, `*` or `>` in it, or empty) has those characters replaced by `_`.
    pub fn render(&self, schema: &str, table: &str, op: &str) -> String {
        let mut out = String::with_capacity(64);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Schema => push_token(&mut out, schema),
                Part::Table => push_token(&mut out, table),
                Part::Op => push_token(&mut out, op),
            }
        }
        out
    }
}

fn push_token(out: &mut String, name: &str) {
    if name.is_empty() {
        out.push('_');
    }
    for c in name.chars() {
        out.push(if c.is_whitespace() || matches!(c, '.' | '*' | '>') {
            '_'
        } else {
            c
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().copied().collect()
    }

    #[test]
    fn defaults_and_options() {
        let s = Settings::from_config(&config(&[("addr", "127.0.0.1:4222")])).unwrap();
        assert_eq!(
            s.subject.render("public", "orders", "insert"),
            "cdc.public.orders"
        );
        assert!(s.ordered);
        assert_eq!(s.max_in_flight, 256);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.auth, Auth::default());

        let s = Settings::from_config(&config(&[
            ("addr", "127.0.0.1:4222"),
            ("subject", "acme.{op}.{table}"),
            ("user", "u"),
            ("password", "p"),
            ("stream", "CDC"),
            ("ordered", "false"),
            ("max_in_flight", "1"),
        ]))
        .unwrap();
        assert_eq!(
            s.subject.render("public", "my.tab le", "delete"),
            "acme.delete.my_tab_le"
        );
        assert_eq!(s.auth.user.as_deref(), Some("u"));
        assert_eq!(s.stream.as_deref(), Some("CDC"));
        assert!(!s.ordered);
        assert_eq!(s.max_in_flight, 1);
    }

    #[test]
    fn bad_config_names_what_to_fix() {
        for (pairs, what) in [
            (&[][..], "missing sink config `addr`"),
            (&[("addr", "localhost")][..], "not host:port"),
            (
                &[("addr", "h:1"), ("subject", "cdc.{tbl}")][..],
                "unknown field `{tbl}`",
            ),
            (&[("addr", "h:1"), ("subject", "cdc.>")][..], "wildcard"),
            (
                &[("addr", "h:1"), ("subject", "cdc..{table}")][..],
                "empty token",
            ),
            (
                &[("addr", "h:1"), ("subject", "cdc.{table")][..],
                "without `}`",
            ),
            (&[("addr", "h:1"), ("user", "u")][..], "give both"),
            (
                &[
                    ("addr", "h:1"),
                    ("token", "t"),
                    ("user", "u"),
                    ("password", "p"),
                ][..],
                "one way",
            ),
            (&[("addr", "h:1"), ("stream", "a.b")][..], "stream name"),
            (&[("addr", "h:1"), ("ordered", "yes")][..], "true or false"),
            (&[("addr", "h:1"), ("max_in_flight", "0")][..], "1 to 10000"),
            (
                &[("addr", "h:1"), ("timeout_ms", "x")][..],
                "`timeout_ms=x` is invalid",
            ),
        ] {
            let e = Settings::from_config(&config(pairs)).unwrap_err();
            assert!(!e.retryable, "{pairs:?}");
            assert!(e.message.contains(what), "{pairs:?}: {}", e.message);
            assert!(!e.message.contains('\n'));
        }
    }
}
