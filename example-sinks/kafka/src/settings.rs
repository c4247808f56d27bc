//! The sink's configuration, and the topic template.

use std::time::Duration;

use conduit_sink_sdk::{Config, SinkError};

/// The default topic template.
pub const DEFAULT_TOPIC: &str = "cdc.{schema}.{table}";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `host:port` of the brokers to ask for metadata first.
    pub bootstrap: Vec<String>,
    pub topic: Template,
    /// SASL/PLAIN user and password.
    pub sasl: Option<(String, String)>,
    pub client_id: String,
    /// Most records in one partition's batch of one request.
    pub max_records: usize,
    pub timeout: Duration,
}

fn bad(message: String) -> SinkError {
    SinkError::fatal(message)
}

impl Settings {
    pub fn from_config(config: &Config) -> Result<Settings, SinkError> {
        let bootstrap: Vec<String> = config
            .require("bootstrap")?
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        for addr in &bootstrap {
            if addr
                .rsplit_once(':')
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .is_none()
            {
                return Err(bad(format!(
                    "sink config `bootstrap` has {addr:?}, which is not host:port (e.g. 127.0.0.1:9092; several: comma-separated)"
                )));
            }
        }
        let topic = Template::parse(config.get_or("topic", DEFAULT_TOPIC))?;
        let non_empty = |k: &str| config.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        let sasl = match (non_empty("sasl_username"), non_empty("sasl_password")) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            _ => {
                return Err(bad(
                    "sink config has only one of `sasl_username` and `sasl_password`: give both (the password as a secret), or neither".into(),
                ))
            }
        };
        let max_records = config.parse::<usize>("max_records")?.unwrap_or(500);
        if !(1..=100_000).contains(&max_records) {
            return Err(bad(format!(
                "sink config `max_records={max_records}` is out of range: use 1 to 100000"
            )));
        }
        let timeout_ms = config.parse::<u64>("timeout_ms")?.unwrap_or(30_000);
        if !(1..=i32::MAX as u64).contains(&timeout_ms) {
            return Err(bad(
                "sink config `timeout_ms` must be positive (milliseconds)".into(),
            ));
        }
        Ok(Settings {
            bootstrap,
            topic,
            sasl,
            client_id: config.get_or("client_id", "conduit-wasm").to_string(),
            max_records,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Schema,
    Table,
}

/// A topic template: a fixed name, or text with `{schema}` and `{table}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

fn legal(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, SinkError> {
        let fail = |why: &str| {
            bad(format!(
                "sink config `topic={text}` {why}: use letters, digits, `.`, `_`, `-` and {{schema}} or {{table}}, e.g. {DEFAULT_TOPIC}"
            ))
        };
        if text.trim().is_empty() {
            return Err(fail("is empty"));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| fail("has a `{` without `}`"))?;
            parts.push(match &rest[open + 1..open + close] {
                "schema" => Part::Schema,
                "table" => Part::Table,
                other => return Err(fail(&format!("names an unknown field `{{{other}}}`"))),
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        for part in &parts {
            if let Part::Text(t) = part {
                if !t.chars().all(legal) {
                    return Err(fail("has a character a topic name cannot have"));
                }
            }
        }
        Ok(Template { parts })
    }

    /// The topic of a change on `schema.table`. Characters a topic name cannot have become `_`;
    /// the name is cut at 249 characters (Kafka's limit).
    pub fn render(&self, schema: &str, table: &str) -> String {
        let mut out = String::with_capacity(64);
        for part in &self.parts {
            let name = match part {
                Part::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Schema => schema,
                Part::Table => table,
            };
            out.extend(name.chars().map(|c| if legal(c) { c } else { '_' }));
        }
        out.truncate(249);
        out
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
        let s = Settings::from_config(&config(&[("bootstrap", "127.0.0.1:9092")])).unwrap();
        assert_eq!(s.bootstrap, ["127.0.0.1:9092"]);
        assert_eq!(s.topic.render("public", "orders"), "cdc.public.orders");
        assert_eq!(s.sasl, None);
        assert_eq!(s.max_records, 500);
        let s = Settings::from_config(&config(&[
            ("bootstrap", "10.0.0.1:9092, 10.0.0.2:9092"),
            ("topic", "orders"),
            ("sasl_username", "u"),
            ("sasl_password", "p"),
        ]))
        .unwrap();
        assert_eq!(s.bootstrap.len(), 2);
        assert_eq!(s.topic.render("public", "x"), "orders");
        assert_eq!(s.sasl, Some(("u".into(), "p".into())));
        let t = Template::parse("{schema}-{table}").unwrap();
        assert_eq!(t.render("my schema", "Tab/le"), "my_schema-Tab_le");
    }

    #[test]
    fn bad_config_names_what_to_fix() {
        for (pairs, what) in [
            (&[][..], "missing sink config `bootstrap`"),
            (&[("bootstrap", "localhost")][..], "not host:port"),
            (
                &[("bootstrap", "h:1"), ("topic", "cdc.{tabel}")][..],
                "unknown field `{tabel}`",
            ),
            (
                &[("bootstrap", "h:1"), ("topic", "cdc/x")][..],
                "cannot have",
            ),
            (
                &[("bootstrap", "h:1"), ("sasl_username", "u")][..],
                "give both",
            ),
            (
                &[("bootstrap", "h:1"), ("max_records", "0")][..],
                "1 to 100000",
            ),
        ] {
            let e = Settings::from_config(&config(pairs)).unwrap_err();
            assert!(!e.retryable, "{pairs:?}");
            assert!(e.message.contains(what), "{pairs:?}: {}", e.message);
        }
    }
}
