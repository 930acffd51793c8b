//! Command-line parsing for the load generator (no external crates).

use std::fmt;
use std::time::Duration;

pub const USAGE: &str = "\
usage: loadgen [--host 127.0.0.1] --port P [--connections 50] [--size 64]
               [--inflight 1] [--duration 5] [--warmup 1] [--messages N]
               [--line] [--tls] [--churn] [--marks]
               [--ws [--text] [--json] [--compress] [--broadcast]]

  --host H          server address (default 127.0.0.1)
  --port P          server port (required)
  --connections N   concurrent connections (default 50)
  --size N          bytes per message, including the '\\n' with --line (default 64)
  --inflight N      messages outstanding per connection (default 1)
  --duration S      measured seconds, after the warmup (default 5)
  --warmup S        seconds run but not counted (default 1)
  --messages N      end the measured window early, once N messages have
                    completed (a fixed amount of work: e.g. 1 GiB echoed is
                    --connections 1 --size 65536 --messages 16384)
  --line            newline-terminated messages (payload never contains '\\n')
  --tls             speak TLS (the server's certificate is not verified: a benchmark only)
  --churn           connection churn: each of the --connections workers
                    connects, sends one message, reads its echo, closes, and
                    starts over; a \"message\" is then a whole connection and
                    its latency runs from connect() to the last echoed byte
  --ws              WebSocket: upgrade each connection (GET /), then send
                    each message as one masked binary frame and check the
                    echo's frame header as well as its payload
  --text            text frames (printable ASCII messages)
  --json            text frames of JSON records (4 KiB makes a typical API message)
  --compress        permessage-deflate: messages go out deflated (each on
                    its own, from 1,024 offsets deflated at start) and the
                    echo is inflated (with the server's context) and checked
  --broadcast       fan-out: the --connections are subscribers (GET /), and
                    one more connection publishes (GET /publish) --inflight
                    messages at a time; the server sends each to every
                    subscriber. A \"message\" is then one delivery to one
                    subscriber; its latency runs from the publish
  --marks           print `loadgen: measuring` and `loadgen: done` lines on
                    stderr when the measured window starts and ends (lets a
                    caller sample the server's CPU time over that window)

Prints one JSON line: {\"msgs\",\"bytes\",\"seconds\",\"msgsPerSec\",\"mbPerSec\",\"p50us\",\"p99us\",\"errors\",\"wireBytes\"}
(bytes = msgs * size, echoed; MB = 10^6 bytes; wireBytes: bytes read from the
sockets in the window, WebSocket headers and compression included).
Exits 1 if any echoed byte differed or a connection failed, 2 on bad arguments.";

#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub connections: usize,
    pub size: usize,
    pub inflight: usize,
    pub duration: Duration,
    pub warmup: Duration,
    /// End the measured window once this many messages completed.
    pub messages: Option<u64>,
    pub line: bool,
    pub tls: bool,
    pub churn: bool,
    pub marks: bool,
    pub ws: bool,
    pub text: bool,
    pub json: bool,
    pub compress: bool,
    pub broadcast: bool,
}

#[derive(Debug)]
pub enum ArgsError {
    Help,
    Invalid(String),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Help => f.write_str(USAGE),
            ArgsError::Invalid(msg) => write!(f, "loadgen: {msg}\n\n{USAGE}"),
        }
    }
}

fn invalid(msg: impl Into<String>) -> ArgsError {
    ArgsError::Invalid(msg.into())
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, ArgsError> {
    value.parse().map_err(|_| invalid(format!("{flag}: not a valid number: {value:?}")))
}

fn seconds(flag: &str, value: &str) -> Result<Duration, ArgsError> {
    let s: f64 = number(flag, value)?;
    if !s.is_finite() || s < 0.0 {
        return Err(invalid(format!("{flag}: must be a non-negative number of seconds")));
    }
    Ok(Duration::from_secs_f64(s))
}

/// Parses the arguments that follow the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Config, ArgsError> {
    let mut host = "127.0.0.1".to_string();
    let mut port: Option<u16> = None;
    let mut connections = 50usize;
    let mut size = 64usize;
    let mut inflight = 1usize;
    let mut duration = Duration::from_secs(5);
    let mut warmup = Duration::from_secs(1);
    let mut messages: Option<u64> = None;
    let mut line = false;
    let mut tls = false;
    let mut churn = false;
    let mut marks = false;
    let mut ws = false;
    let mut text = false;
    let mut json = false;
    let mut compress = false;
    let mut broadcast = false;

    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, ArgsError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().ok_or_else(|| invalid(format!("{flag}: missing value"))),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Err(ArgsError::Help),
            "--host" => host = value()?,
            "--port" => port = Some(number(&flag, &value()?)?),
            "--connections" => connections = number(&flag, &value()?)?,
            "--size" => size = number(&flag, &value()?)?,
            "--inflight" => inflight = number(&flag, &value()?)?,
            "--duration" => duration = seconds(&flag, &value()?)?,
            "--warmup" => warmup = seconds(&flag, &value()?)?,
            "--messages" => messages = Some(number(&flag, &value()?)?),
            "--line" | "--tls" | "--churn" | "--marks" | "--ws" | "--text" | "--json" | "--compress" | "--broadcast" => {
                if inline.is_some() {
                    return Err(invalid(format!("{flag} takes no value")));
                }
                match flag.as_str() {
                    "--line" => line = true,
                    "--tls" => tls = true,
                    "--churn" => churn = true,
                    "--ws" => ws = true,
                    "--text" => text = true,
                    "--json" => json = true,
                    "--compress" => compress = true,
                    "--broadcast" => broadcast = true,
                    _ => marks = true,
                }
            }
            other => return Err(invalid(format!("unknown argument {other:?}"))),
        }
    }

    let port = port.ok_or_else(|| invalid("--port is required"))?;
    if connections == 0 {
        return Err(invalid("--connections must be at least 1"));
    }
    if inflight == 0 {
        return Err(invalid("--inflight must be at least 1"));
    }
    if size == 0 || (line && size < 2) {
        return Err(invalid("--size must be at least 1 (at least 2 with --line)"));
    }
    if messages == Some(0) {
        return Err(invalid("--messages must be at least 1"));
    }
    if churn && inflight != 1 {
        return Err(invalid("--churn sends one message per connection: --inflight must be 1"));
    }
    if duration.is_zero() {
        return Err(invalid("--duration must be positive"));
    }
    if (text || json || compress || broadcast) && !ws {
        return Err(invalid("--text, --json, --compress and --broadcast go with --ws"));
    }
    if ws && (line || tls || churn) {
        return Err(invalid("--ws does not go with --line, --tls or --churn"));
    }
    let text = text || json;
    Ok(Config { host, port, connections, size, inflight, duration, warmup, messages, line, tls, churn, marks, ws, text, json, compress, broadcast })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Config, ArgsError> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn defaults_and_flags() {
        let c = p("--port 9000").unwrap();
        assert_eq!((c.port, c.connections, c.size, c.inflight, c.line), (9000, 50, 64, 1, false));
        assert_eq!(c.duration, Duration::from_secs(5));
        let c = p("--host ::1 --port=1 --connections 3 --size 10 --inflight 4 --duration 0.5 --warmup 0 --line --marks").unwrap();
        assert!(c.marks);
        assert_eq!(c.host, "::1");
        assert_eq!((c.connections, c.size, c.inflight, c.line), (3, 10, 4, true));
        assert_eq!(c.duration, Duration::from_millis(500));
        assert!(c.warmup.is_zero());
        assert_eq!((c.messages, c.churn, c.tls), (None, false, false));
        let c = p("--port 1 --churn --messages 16384 --tls").unwrap();
        assert_eq!((c.messages, c.churn, c.tls), (Some(16384), true, true));
        let c = p("--port 1 --ws --json --compress --broadcast").unwrap();
        assert_eq!((c.ws, c.text, c.json, c.compress, c.broadcast), (true, true, true, true, true));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(p("").is_err());
        assert!(p("--port x").is_err());
        assert!(p("--port 1 --bogus").is_err());
        assert!(p("--port 1 --size 1 --line").is_err());
        assert!(p("--port 1 --inflight 0").is_err());
        assert!(p("--port 1 --messages 0").is_err());
        assert!(p("--port 1 --churn --inflight 2").is_err());
        assert!(p("--port 1 --text").is_err());
        assert!(p("--port 1 --ws --line").is_err());
        assert!(matches!(p("--help"), Err(ArgsError::Help)));
    }
}
