//! A server log as a whole: which node wrote it, whether it holds the process's start and
//! DEBUG lines, when the node was told to shut down; Restate's text format; a directory that
//! holds only server logs.
//!
//! The importer needs to know what a log *lacks* before it trusts what the log says: a log
//! that does not begin with the process's start says nothing of the node's storage state
//! when the trace begins; a log at Restate's default filter (INFO) lacks the DEBUG lines of
//! the seal task's start and of self-provisioning. [`ServerLog`] records those shapes; the
//! importer turns them into notes or into an inconclusive import.
//!
//! **Text format.** Besides `RESTATE_LOG_FORMAT=json`, a line of tracing's text format
//! (`<RFC 3339 time> <LEVEL> span{k=v ...}:span2{...}: <target>: <message> k=v ...`, values
//! possibly double-quoted, the message possibly on the next line as the pretty format prints
//! it, ANSI colours stripped) is read into the same shape as a JSON line: `timestamp`,
//! `level`, `target`, `spans`, `fields.message` and the `k=v` fields (as strings). Every
//! committed recording's logs, rewritten in this format, import to the same trace
//! (checker/tests/import_degraded.rs).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::raw::{ACTIONS_FILE, CTL_FILE, META_FILE, SQL_FILE};
use crate::time::Micros;
use crate::Error;

/// restate_server, INFO: the process was told to stop (SIGTERM or SIGINT).
pub const SHUTDOWN_SIGNAL: &str = "Received signal, starting shutdown.";
/// restate_node, INFO: the line that names the node (`My Node ID is N1:2`).
pub const MY_NODE_ID: &str = "My Node ID is ";
/// restate_log_server, DEBUG: also names the node (`... for my node N1 at <date>`).
pub const MARKER_FOR_NODE: &str = "Written log-server storage marker for my node ";

/// What one server log shows about itself, beyond its facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerLog {
    /// The node the log belongs to (plain id).
    pub node: u32,
    /// The file, relative to the raw directory.
    pub file: String,
    /// How the node was identified: `its own lines` (`My Node ID is ...`) or `its file name`.
    pub named_by: String,
    /// Whether its first timestamped line is the process's `Starting Restate Server` line:
    /// false for a log that starts mid-run.
    pub has_process_start: bool,
    /// Lines at DEBUG level: none when the server ran with Restate's default filter (INFO).
    pub debug_lines: usize,
    /// Timestamped lines read.
    pub lines: usize,
    /// When the log's first and last timestamped lines were written.
    pub first_us: Option<Micros>,
    /// See `first_us`.
    pub last_us: Option<Micros>,
    /// Each `Received signal, starting shutdown.` line: the node was told to stop.
    pub shutdown_signals: Vec<Micros>,
    /// Each `Starting Restate Server` line: a process start (a second one is a restart).
    pub process_starts: Vec<Micros>,
    /// Lines stamped earlier than a line before them in the same file (Restate's threads
    /// write up to a few ms out of order). Their stamps are kept: the global sort by time
    /// puts them in the order their threads acted, which the file order is not.
    #[serde(default)]
    pub out_of_order_lines: usize,
    /// The largest amount (microseconds) an out-of-order line is stamped before the latest
    /// line above it.
    #[serde(default)]
    pub max_skew_us: Micros,
}

/// Reads one line of a server log, JSON or text, into the JSON shape; `None` for a line that
/// is neither (a banner, a panic's text, a continuation line).
pub fn line_value(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v.get("timestamp").is_some().then_some(v);
    }
    text_line(&strip_ansi(text))
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// `<time> <LEVEL> <target>: <message> k=v ...`; the message may be empty (pretty format:
/// it follows on the next line, see [`text_lines`]).
fn text_line(text: &str) -> Option<Value> {
    let mut words = text.trim_start().splitn(3, char::is_whitespace);
    let ts = words.next()?;
    if ts.len() < 20 || !ts.ends_with('Z') || ts.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let rest = words.next().map(str::trim).filter(|l| !l.is_empty());
    let (level, rest) = match rest {
        Some(l) if LEVELS.contains(&l) => (l, words.next().unwrap_or("")),
        _ => {
            let r = text.trim_start()[ts.len()..].trim_start();
            let (l, r) = r.split_once(char::is_whitespace).unwrap_or((r, ""));
            if !LEVELS.contains(&l) {
                return None;
            }
            (l, r)
        }
    };
    let (spans, target, body) = spans_target_body(rest.trim_start());
    let mut fields = Map::new();
    let message = split_fields(body.trim_end(), &mut fields);
    fields.insert("message".into(), Value::String(message));
    let mut line = Map::new();
    line.insert("timestamp".into(), Value::String(ts.to_string()));
    line.insert("level".into(), Value::String(level.to_string()));
    line.insert("target".into(), Value::String(target.to_string()));
    line.insert("fields".into(), Value::Object(fields));
    if !spans.is_empty() {
        line.insert("spans".into(), Value::Array(spans));
    }
    Some(Value::Object(line))
}

/// Byte positions of `sep` in `text` outside braces and double quotes.
fn top_level(text: &str, sep: &str) -> Vec<usize> {
    let (mut depth, mut quoted, mut out) = (0i32, false, Vec::new());
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        match c {
            '"' if i == 0 || bytes[i - 1] != b'\\' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && text[i..].starts_with(sep) => out.push(i),
            _ => {}
        }
    }
    out
}

/// Splits `span1{k=v}:span2{..}: target: message k=v` (tracing's full text format) into the
/// spans (as the JSON format lists them, outermost first), the target and the rest.
fn spans_target_body(rest: &str) -> (Vec<Value>, &str, &str) {
    let cuts = top_level(rest, ": ");
    let Some(&first) = cuts.first() else {
        return match rest.strip_suffix(':') {
            Some(t) if !t.contains(' ') => (Vec::new(), t, ""),
            _ => (Vec::new(), "", rest),
        };
    };
    let head = &rest[..first];
    if head.contains('{') {
        let spans = span_list(head);
        let after = &rest[first + 2..];
        return match after.split_once(": ") {
            Some((t, b)) if !t.contains(' ') => (spans, t, b),
            _ => match after.strip_suffix(':') {
                Some(t) if !t.contains(' ') => (spans, t, ""),
                _ => (spans, "", after),
            },
        };
    }
    if head.contains(' ') {
        return (Vec::new(), "", rest);
    }
    (Vec::new(), head, &rest[first + 2..])
}

/// `name{k=v ...}:name2{...}` as JSON span objects.
fn span_list(text: &str) -> Vec<Value> {
    let mut bounds = vec![0];
    bounds.extend(top_level(text, ":").into_iter().map(|i| i + 1));
    bounds.push(text.len() + 1);
    bounds
        .windows(2)
        .map(|w| {
            let part = &text[w[0]..w[1] - 1];
            let mut span = Map::new();
            let (name, inner) = match part.split_once('{') {
                Some((n, i)) => (n, i.strip_suffix('}').unwrap_or(i)),
                None => (part, ""),
            };
            for (k, v) in key_values(inner) {
                span.insert(k, Value::String(v));
            }
            span.insert("name".into(), Value::String(name.to_string()));
            Value::Object(span)
        })
        .collect()
}

/// The `k=v` words of a field list (values may be double-quoted).
fn key_values(text: &str) -> Vec<(String, String)> {
    let mut starts = vec![0];
    starts.extend(top_level(text, " ").into_iter().map(|i| i + 1));
    starts.push(text.len() + 1);
    starts
        .windows(2)
        .filter_map(|w| {
            let word = &text[w[0]..w[1] - 1];
            let (k, v) = word.split_once('=')?;
            Some((k.to_string(), unquote(v)))
        })
        .collect()
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\""),
        None => v.to_string(),
    }
}

/// Splits trailing `key=value` words (values may be double-quoted) off a message; returns
/// the message.
fn split_fields(body: &str, fields: &mut Map<String, Value>) -> String {
    let spaces = top_level(body, " ");
    let mut end = body.len();
    for &pos in spaces.iter().rev() {
        let word = &body[pos + 1..end];
        let Some((k, v)) = word.split_once('=') else {
            break;
        };
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            break;
        }
        fields.insert(k.to_string(), Value::String(unquote(v)));
        end = pos;
    }
    body[..end].trim().to_string()
}

/// The lines of a log file as JSON values with their 1-based line numbers. A text line with
/// no message takes the next untimestamped line as its message (the pretty format).
pub fn text_lines(lines: &[String]) -> Vec<(usize, Value)> {
    let mut reader = TextLines::default();
    let mut out = Vec::new();
    for text in lines {
        reader.push(text, &mut out);
    }
    reader.finish(&mut out);
    out
}

/// [`text_lines`] one line at a time, for a log read while it is written: a text line with no
/// message is held until the next line says whether it is its message.
#[derive(Debug, Default)]
pub struct TextLines {
    /// Lines read.
    read: usize,
    /// A line with an empty message, waiting for its message on the next line.
    waiting: Option<(usize, Value)>,
}

impl TextLines {
    /// Reads the next line of the file; the values it completes go to `out`.
    pub fn push(&mut self, text: &str, out: &mut Vec<(usize, Value)>) {
        self.read += 1;
        if let Some(v) = line_value(text) {
            out.extend(self.waiting.take());
            if v["fields"]["message"].as_str() == Some("") {
                self.waiting = Some((self.read, v));
            } else {
                out.push((self.read, v));
            }
        } else if !text.trim().is_empty() {
            if let Some((n, mut last)) = self.waiting.take() {
                let mut fields = Map::new();
                let message = split_fields(strip_ansi(text).trim(), &mut fields);
                let f = last["fields"].as_object_mut().expect("built as an object");
                f.extend(fields);
                f.insert("message".into(), Value::String(message));
                out.push((n, last));
            }
        }
    }

    /// The end of what is written: a held line goes out with its empty message.
    pub fn finish(&mut self, out: &mut Vec<(usize, Value)>) {
        out.extend(self.waiting.take());
    }

    /// Whether a line is held (see [`TextLines::finish`]).
    pub fn holds_a_line(&self) -> bool {
        self.waiting.is_some()
    }
}

/// The node a log names itself as: `My Node ID is N<k>:<g>` or the storage-marker line.
pub fn node_named_in(lines: &[(usize, Value)]) -> Option<u32> {
    lines.iter().find_map(|(_, v)| {
        let msg = v["fields"]["message"].as_str()?;
        let rest = msg
            .strip_prefix(MY_NODE_ID)
            .or_else(|| msg.strip_prefix(MARKER_FOR_NODE))?;
        let id = rest.strip_prefix('N')?;
        let digits: String = id.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// The node a file name suggests: the first run of digits (`n2.log`, `node-3.txt`).
pub fn node_from_file_name(path: &Path) -> Option<u32> {
    node_from_name(path.file_name()?.to_str()?)
}

/// The node a log's path below `dir` suggests: its file name's, else its directory's
/// (`node-3/restate.log`).
pub fn node_from_path(dir: &Path, path: &Path) -> Option<u32> {
    node_from_file_name(path).or_else(|| {
        path.parent()
            .filter(|p| *p != dir)
            .and_then(|p| node_from_name(p.file_name()?.to_str()?))
    })
}

fn node_from_name(name: &str) -> Option<u32> {
    let digits: String = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The server logs of a directory that has no `meta.json`: every regular file of the
/// directory and of its subdirectories one level down (`logs/`, or one directory per node as
/// a volume dump lays them out: `node-1/restate.log`) other than the recorder's record files
/// and hidden entries, in path order.
pub fn log_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let records = [META_FILE, ACTIONS_FILE, CTL_FILE, SQL_FILE];
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|err| Error::io(dir, err))?;
    for e in entries {
        let e = e.map_err(|err| Error::io(dir, err))?;
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            dirs.push(p);
        } else if p.is_file() && !records.contains(&name.as_str()) {
            files.push(p);
        }
    }
    for d in dirs {
        let entries = std::fs::read_dir(&d).map_err(|err| Error::io(&d, err))?;
        for e in entries {
            let e = e.map_err(|err| Error::io(&d, err))?;
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_file() && !records.contains(&name.as_str()) && !name.starts_with('.') {
                files.push(p);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_read_like_json_lines() {
        let lines = vec![
            "2026-11-27T03:21:51.609787Z  INFO restate_node: My Node ID is N2:1 roles=admin".to_string(),
            "2026-11-27T03:21:51.7Z DEBUG seal{loglet_id=0_0}:request{node_id=N3:1 message=Seal metadata=\"a b\"}: restate_bifrost::tasks::util: Request failed. Exhausted attempts after spending 1s err=\"timed out\"".to_string(),
            "\u{1b}[2m2026-11-27T03:21:52.000000Z\u{1b}[0m \u{1b}[34mDEBUG\u{1b}[0m restate_bifrost::providers::replicated_loglet::tasks::seal: Starting a seal task for loglet loglet_id=0_0 is_sealed=false".to_string(),
            "  2026-11-27T03:21:53.000000Z  INFO restate_server:".to_string(),
            "    Received signal, starting shutdown.".to_string(),
            "a panic".to_string(),
        ];
        let v = text_lines(&lines);
        assert_eq!(v.len(), 4);
        assert_eq!(node_named_in(&v), Some(2));
        let exhausted = &v[1].1;
        assert_eq!(exhausted["target"], "restate_bifrost::tasks::util");
        assert_eq!(exhausted["fields"]["err"], "timed out");
        assert_eq!(exhausted["spans"][0]["loglet_id"], "0_0");
        assert_eq!(exhausted["spans"][1]["node_id"], "N3:1");
        assert_eq!(exhausted["spans"][1]["metadata"], "a b");
        assert_eq!(v[2].1["level"], "DEBUG");
        assert_eq!(
            v[2].1["fields"]["message"],
            "Starting a seal task for loglet"
        );
        assert_eq!(v[2].1["fields"]["loglet_id"], "0_0");
        assert_eq!(v[3].1["fields"]["message"], SHUTDOWN_SIGNAL);
        assert_eq!(node_from_file_name(Path::new("/x/node-3.log")), Some(3));
    }
}
