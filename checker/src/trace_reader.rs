//! The trace format (version 1), read as a stream.
//!
//! A trace is JSON Lines: a header line, then one event or observation per line. The format is
//! documented for users in `traces/README.md`; its header and item types live in the model crate
//! (`sealcheck_model::trace_format`, shared with the recorder's importer); this module is the
//! reader.
//! Reading never holds more than one line (at most [`MAX_LINE`] bytes) in memory, and every
//! error names the file, the line and the field. Only regular files are opened (see
//! [`crate::input`]): a FIFO or a device is refused by name.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sealcheck_model::observable::{Event, MemberStatus, NodeId, NodesetStatus, Observation};
use sealcheck_model::Config;

pub use sealcheck_model::trace_format::{Header, Item, Roles, FORMAT, MAX_OFFSET, VERSION};

/// Longest line accepted, in bytes, not counting its line ending (`\n` or `\r\n`).
pub const MAX_LINE: usize = 1 << 20;

/// A parsed line with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceItem {
    /// 1-based line number in the file.
    pub line: usize,
    /// Time, if the trace gives one (any unit, non-decreasing).
    pub t: Option<f64>,
    /// What the line says, with the client's roles renamed to the model's client.
    pub item: Item,
    /// The line as written (for reports).
    pub text: String,
}

/// A trace that cannot be read: file, line, field and what was expected. Shown as
/// `FILE:LINE: field `FIELD`: MESSAGE`, or `FILE: MESSAGE` when the file could not be read at all
/// (line 0).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct TraceError {
    /// The file, as given on the command line (or the name a reader was opened with).
    pub file: String,
    /// 1-based line; 0 when the file could not be read at all (missing, not a regular file,
    /// not permitted, a directory that cannot be listed): see [`TraceError::is_unreadable`].
    pub line: usize,
    /// The field (`-` for the whole line).
    pub field: String,
    /// What is wrong, and for a field what was expected instead.
    pub message: String,
}

impl TraceError {
    /// Whether the file could not be read at all (as opposed to being malformed).
    pub fn is_unreadable(&self) -> bool {
        self.line == 0
    }

    /// An error for a file that could not be read at all.
    pub fn unreadable(file: &str, error: &std::io::Error) -> TraceError {
        err(file, 0, "-", format!("cannot read: {error}"))
    }

    fn render(&self) -> String {
        if self.is_unreadable() {
            format!("{}: {}", self.file, self.message)
        } else {
            format!(
                "{}:{}: field `{}`: {}",
                self.file, self.line, self.field, self.message
            )
        }
    }
}

/// Streams the items of a trace file.
pub struct TraceReader {
    file: String,
    reader: Box<dyn BufRead + Send>,
    header: Header,
    line: usize,
    last_t: Option<f64>,
    buf: Vec<u8>,
    done: bool,
}

fn err(file: &str, line: usize, field: &str, message: impl Into<String>) -> TraceError {
    TraceError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

fn field_from_serde(message: &str) -> Option<String> {
    crate::spec::field_from_message(message)
}

enum RawLine {
    Eof,
    Line(String),
}

/// Checks the type and range of every field a line may carry (node ids, offsets and tails,
/// seal flags, strings) before the line is decoded, so that an error names the field.
fn check_fields(
    file: &str,
    line: usize,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), TraceError> {
    // `from` and `to` are offsets in a tail repair, a storage state elsewhere; `status` is a
    // nodeset status in a seal outcome, a store status elsewhere.
    let kind = obj.get("event").and_then(|e| e.as_str());
    let repair = matches!(kind, Some("tail-repair-started" | "other-repair-started"));
    let outcome = matches!(
        kind,
        Some("seal-completed" | "seal-failed" | "other-seal-completed" | "other-seal-failed")
    );
    for (key, v) in obj.iter() {
        let (ok, expected) = match key.as_str() {
            "from" | "to" if repair => (v.is_u64(), "a non-negative integer"),
            "status" if outcome => {
                check_nodeset_status(file, line, v)?;
                (true, "")
            }
            "node" | "peer" => (
                match v {
                    serde_json::Value::String(t) => NodeId::parse(t).is_some(),
                    serde_json::Value::Number(n) => {
                        n.as_u64().is_some_and(|n| (1..=255).contains(&n))
                    }
                    _ => false,
                },
                "a node id: \"N\" and a number 1..=255 (\"N3\"), or the number",
            ),
            "offset" | "local_tail" | "max_local_tail" | "tail" | "known_global_tail" => {
                (v.is_u64(), "a non-negative integer")
            }
            "sealed" => (v.is_boolean(), "true or false"),
            "state" | "to" | "reason" | "status" => (v.is_string(), "a string"),
            _ => (true, ""),
        };
        if !ok {
            return Err(err(
                file,
                line,
                key,
                format!("expected {expected}, got {v}"),
            ));
        }
    }
    for f in [
        "offset",
        "local_tail",
        "max_local_tail",
        "tail",
        "known_global_tail",
        "from",
        "to",
    ] {
        if let Some(n) = obj.get(f).and_then(|v| v.as_u64()) {
            if n > MAX_OFFSET as u64 {
                return Err(err(
                    file,
                    line,
                    f,
                    format!("{n} does not fit: offsets and tails are at most {MAX_OFFSET}"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks a seal outcome's `status`: an object from node ids (`"N1"`) to `"S"`, `"E"` or `"?"`.
/// A bad key or value is named as `status.KEY`.
fn check_nodeset_status(file: &str, line: usize, v: &serde_json::Value) -> Result<(), TraceError> {
    let Some(members) = v.as_object() else {
        return Err(err(
            file,
            line,
            "status",
            format!("expected a nodeset status such as {{\"N1\": \"S\", \"N2\": \"?\"}}, got {v}"),
        ));
    };
    for (node, st) in members {
        let field = format!("status.{node}");
        if NodeId::parse(node).is_none() {
            return Err(err(
                file,
                line,
                &field,
                format!("`{node}` is not a node id: expected \"N\" and a number 1..=255, such as \"N3\""),
            ));
        }
        if st.as_str().and_then(MemberStatus::parse).is_none() {
            return Err(err(
                file,
                line,
                &field,
                format!(
                    "expected \"S\" (sealed), \"E\" (error) or \"?\" (no answer yet), got {st}"
                ),
            ));
        }
    }
    Ok(())
}

impl TraceReader {
    /// Opens a trace file and reads its header. Anything but a regular file (a FIFO, a device,
    /// a directory) is refused as unreadable, without blocking.
    pub fn open(path: &Path) -> Result<TraceReader, TraceError> {
        let file = path.display().to_string();
        let f = crate::input::open_regular(path).map_err(|e| TraceError::unreadable(&file, &e))?;
        TraceReader::from_reader(&file, Box::new(BufReader::with_capacity(1 << 16, f)))
    }

    /// Reads a trace from any reader; `file` names it in errors.
    pub fn from_reader(
        file: &str,
        reader: Box<dyn BufRead + Send>,
    ) -> Result<TraceReader, TraceError> {
        let mut r = TraceReader {
            file: file.to_string(),
            reader,
            header: Header::generated(Config::incident(), "", false),
            line: 0,
            last_t: None,
            buf: Vec::new(),
            done: false,
        };
        let text = loop {
            match r.raw_line()? {
                RawLine::Eof => {
                    return Err(err(
                        file,
                        r.line.max(1),
                        "-",
                        "the file is empty: expected a header line {\"format\": \"sealcheck-trace\", \"version\": 1, ...}",
                    ))
                }
                RawLine::Line(t) if t.trim().is_empty() => continue,
                RawLine::Line(t) => break t,
            }
        };
        r.header = r.parse_header(&text)?;
        Ok(r)
    }

    /// The trace's header (its first line), parsed and checked when the reader was opened.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file name used in errors.
    pub fn file(&self) -> &str {
        &self.file
    }

    fn raw_line(&mut self) -> Result<RawLine, TraceError> {
        self.buf.clear();
        // The content may be MAX_LINE bytes, followed by at most "\r\n": reading one byte more
        // than that tells an overlong line without reading all of it.
        let limit = (MAX_LINE + 3) as u64;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| err(&self.file, self.line + 1, "-", format!("cannot read: {e}")))?;
        if n == 0 {
            return Ok(RawLine::Eof);
        }
        self.line += 1;
        let ended = self.buf.last() == Some(&b'\n');
        if ended {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        if self.buf.len() > MAX_LINE {
            return Err(err(
                &self.file,
                self.line,
                "-",
                format!("line is longer than {MAX_LINE} bytes (not counting its line ending)"),
            ));
        }
        let text = std::str::from_utf8(&self.buf)
            .map_err(|e| err(&self.file, self.line, "-", format!("not UTF-8: {e}")))?
            .to_string();
        if !ended && serde_json::from_str::<serde_json::Value>(&text).is_err() {
            return Err(err(
                &self.file,
                self.line,
                "-",
                "truncated: the file ends in the middle of this line",
            ));
        }
        Ok(RawLine::Line(text))
    }

    fn parse_header(&self, text: &str) -> Result<Header, TraceError> {
        let line = self.line;
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| err(&self.file, line, "-", format!("invalid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| err(&self.file, line, "-", "the header must be a JSON object"))?;
        match obj.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(err(
                    &self.file,
                    line,
                    "format",
                    format!("expected \"{FORMAT}\", got \"{other}\""),
                ))
            }
            None => {
                return Err(err(
                    &self.file,
                    line,
                    "format",
                    format!(
                        "missing: the first line must be a header with \"format\": \"{FORMAT}\""
                    ),
                ))
            }
        }
        match obj.get("version").and_then(|f| f.as_u64()) {
            Some(v) if v == VERSION as u64 => {}
            Some(v) => {
                return Err(err(
                    &self.file,
                    line,
                    "version",
                    format!("this sealcheck reads version {VERSION}, the trace is version {v}"),
                ))
            }
            None => {
                return Err(err(
                    &self.file,
                    line,
                    "version",
                    format!("missing or not a number: expected {VERSION}"),
                ))
            }
        }
        let header: Header = serde_path_to_error::deserialize(v).map_err(|e| {
            let path = e.path().to_string();
            let m = e.into_inner().to_string();
            // A `missing field` error is reported at the enclosing object, an `unknown field`
            // one at the field itself.
            let field = match (field_from_serde(&m), path.as_str()) {
                (Some(f), ".") => f,
                (Some(f), p) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
                (Some(f), p) => format!("{p}.{f}"),
                (None, ".") => "-".to_string(),
                (None, p) => p.to_string(),
            };
            err(&self.file, line, &field, m)
        })?;
        header.config.validate().map_err(|e| {
            err(
                &self.file,
                line,
                &format!("config.{}", e.field),
                e.message.clone(),
            )
        })?;
        for k in &header.complete {
            if k != "*" && !Event::KINDS.contains(&k.as_str()) {
                return Err(err(
                    &self.file,
                    line,
                    "complete",
                    format!(
                        "unknown event kind `{k}`; known: {}",
                        Event::KINDS.join(", ")
                    ),
                ));
            }
        }
        for k in &header.unknown {
            if !Header::ASSUMABLE_UNKNOWN.contains(&k.as_str()) {
                return Err(err(
                    &self.file,
                    line,
                    "unknown",
                    format!(
                        "`{k}` cannot be unknown; known: {}",
                        Header::ASSUMABLE_UNKNOWN.join(", ")
                    ),
                ));
            }
            if header.is_complete(k) {
                return Err(err(
                    &self.file,
                    line,
                    "unknown",
                    format!("`{k}` is also logged completely (`complete`): a kind the material cannot show is not complete"),
                ));
            }
        }
        let n = header.config.log_servers;
        for (name, id) in [
            ("roles.sealer", header.roles.sealer),
            ("roles.sequencer", header.roles.sequencer),
            ("roles.finder", header.roles.finder),
        ] {
            if let Some(id) = id {
                if id.0 == 0 {
                    return Err(err(&self.file, line, name, "node ids start at 1"));
                }
            }
        }
        let _ = n;
        Ok(header)
    }

    fn client(&self) -> NodeId {
        NodeId(self.header.config.client)
    }

    fn is_log_server(&self, id: NodeId) -> bool {
        id.0 >= 1 && id.0 <= self.header.config.log_servers
    }

    /// Checks that a seal outcome's status names only members of the header's nodeset (the
    /// seal task reports its effective nodeset, a subset of it).
    fn check_status_members(&self, status: &NodesetStatus, line: usize) -> Result<(), TraceError> {
        let nodeset = &self.header.config.nodeset;
        match status.keys().find(|n| !nodeset.contains(&n.0)) {
            Some(n) => Err(err(
                &self.file,
                line,
                &format!("status.{n}"),
                format!(
                    "{n} is not a member of the nodeset [{}]: a seal task reports only its members",
                    nodeset
                        .iter()
                        .map(|i| format!("N{i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// Checks node ids and offsets against the header and renames client roles.
    fn resolve(&self, item: &mut Item, line: usize) -> Result<(), TraceError> {
        let client = self.client();
        let sealer = self.header.roles.sealer.unwrap_or(client);
        let sequencer = self.header.roles.sequencer.unwrap_or(client);
        let finder = self.header.roles.finder.unwrap_or(sealer);
        let unknown = |id: NodeId, what: &str, field: &str| {
            err(
                &self.file,
                line,
                field,
                format!(
                    "{id} is not {what} (log servers are N1..N{}, the sealer is {sealer}, the sequencer is {sequencer})",
                    self.header.config.log_servers
                ),
            )
        };
        match item {
            Item::Event(e) => {
                let kind = e.kind();
                if let Some(node) = e.node() {
                    if Event::is_sealer_kind(kind) {
                        if node != sealer {
                            return Err(unknown(node, "the sealer", "node"));
                        }
                        e.set_node(client);
                    } else if Event::is_sequencer_kind(kind) {
                        if node != sequencer {
                            return Err(unknown(node, "the sequencer", "node"));
                        }
                        e.set_node(client);
                    } else if Event::is_finder_kind(kind) {
                        if node != finder {
                            return Err(unknown(node, "the find-tail reader", "node"));
                        }
                        e.set_node(client);
                    } else if Event::is_other_node_kind(kind) {
                        // Any node may run such a task; the model does not name it.
                    } else if !self.is_log_server(node) {
                        return Err(unknown(node, "a log server", "node"));
                    }
                }
                if let Some(peer) = e.peer() {
                    if !self.is_log_server(peer) {
                        return Err(unknown(peer, "a log server", "peer"));
                    }
                }
                if let Event::SealCompleted {
                    status: Some(status),
                    ..
                }
                | Event::SealFailed {
                    status: Some(status),
                    ..
                }
                | Event::OtherSealCompleted {
                    status: Some(status),
                    ..
                }
                | Event::OtherSealFailed {
                    status: Some(status),
                    ..
                } = e
                {
                    self.check_status_members(status, line)?;
                }
                if let Some(o) = e.offset() {
                    let appends = self.header.config.appends;
                    if o >= appends {
                        return Err(err(
                            &self.file,
                            line,
                            "offset",
                            format!(
                                "offset {o} does not fit: the header's config allows {} (offsets 0..{appends})",
                                sealcheck_model::words::count(appends as usize, "append", "appends")
                            ),
                        ));
                    }
                }
            }
            Item::Observe(o) => match o {
                Observation::ObserveSequencer { node, .. } => {
                    if *node != sequencer {
                        return Err(unknown(*node, "the sequencer", "node"));
                    }
                    o.set_node(client);
                }
                _ => {
                    if !self.is_log_server(o.node()) {
                        return Err(unknown(o.node(), "a log server", "node"));
                    }
                }
            },
        }
        Ok(())
    }

    fn parse_item(&mut self, text: &str) -> Result<TraceItem, TraceError> {
        let line = self.line;
        let mut v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| err(&self.file, line, "-", format!("invalid JSON: {e}")))?;
        let obj = v
            .as_object_mut()
            .ok_or_else(|| err(&self.file, line, "-", "each line must be a JSON object"))?;
        let t = match obj.remove("t") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(other) => {
                return Err(err(
                    &self.file,
                    line,
                    "t",
                    format!("expected a number (time), got {other}"),
                ))
            }
        };
        if let (Some(t), Some(last)) = (t, self.last_t) {
            if t < last {
                return Err(err(
                    &self.file,
                    line,
                    "t",
                    format!("time {t} is earlier than the previous line's {last}: lines must be in time order"),
                ));
            }
        }
        check_fields(&self.file, line, obj)?;
        let kind = match obj.get("event") {
            Some(serde_json::Value::String(k)) => k.clone(),
            Some(other) => {
                return Err(err(
                    &self.file,
                    line,
                    "event",
                    format!("expected a string such as \"seal-started\", got {other}"),
                ))
            }
            None => return Err(err(&self.file, line, "event", "missing")),
        };
        let map = |e: serde_json::Error, file: &str| {
            let m = e.to_string();
            let field = field_from_serde(&m).unwrap_or_else(|| {
                if m.contains("unknown variant") {
                    "event".to_string()
                } else {
                    "-".to_string()
                }
            });
            err(file, line, &field, m)
        };
        let mut item = if kind.starts_with("observe-") {
            Item::Observe(serde_json::from_value(v).map_err(|e| map(e, &self.file))?)
        } else {
            Item::Event(serde_json::from_value(v).map_err(|e| map(e, &self.file))?)
        };
        self.resolve(&mut item, line)?;
        if t.is_some() {
            self.last_t = t;
        }
        Ok(TraceItem {
            line,
            t,
            item,
            text: text.to_string(),
        })
    }

    /// The next item, `None` at the end of the file.
    pub fn next_item(&mut self) -> Option<Result<TraceItem, TraceError>> {
        if self.done {
            return None;
        }
        loop {
            match self.raw_line() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(RawLine::Eof) => {
                    self.done = true;
                    return None;
                }
                Ok(RawLine::Line(t)) if t.trim().is_empty() => continue,
                Ok(RawLine::Line(t)) => {
                    let r = self.parse_item(&t);
                    if r.is_err() {
                        self.done = true;
                    }
                    return Some(r);
                }
            }
        }
    }
}

impl Iterator for TraceReader {
    type Item = Result<TraceItem, TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item()
    }
}

/// Writes a trace: header, then one line per item (with optional times).
pub fn write_trace(
    path: &Path,
    header: &Header,
    items: &[(Option<f64>, Item)],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(File::create(path)?);
    writeln!(
        out,
        "{}",
        serde_json::to_string(header).expect("header serializes")
    )?;
    for (t, item) in items {
        let mut v: serde_json::Value = serde_json::from_str(&item.to_json()).expect("json");
        if let Some(t) = t {
            v.as_object_mut()
                .expect("object")
                .insert("t".into(), serde_json::json!(t));
        }
        writeln!(out, "{v}")?;
    }
    out.flush()
}

/// All trace files (`*.jsonl`) under the given paths, as [`crate::input::walk_traces`] lists
/// them (symlinked directories are not followed; recorder raw directories are skipped). The
/// first path that cannot be read is an error that names it.
pub fn expand_paths(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    crate::input::walk_traces(paths)
        .into_iter()
        .map(|r| {
            r.map_err(|u| {
                std::io::Error::new(
                    u.error.kind(),
                    format!("{}: cannot read: {}", u.path.display(), u.error),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<TraceItem>, TraceError> {
        let r = TraceReader::from_reader(
            "t.jsonl",
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        )?;
        r.collect()
    }

    const HEADER: &str = r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2,"appends":2}}"#;

    #[test]
    fn empty_file_is_an_error() {
        let e = read("").unwrap_err();
        assert!(e.message.contains("the file is empty"), "{e}");
    }

    #[test]
    fn header_of_another_version_is_refused() {
        let e = read(r#"{"format":"sealcheck-trace","version":2,"config":{}}"#).unwrap_err();
        assert_eq!(e.field, "version");
        assert!(e.message.contains("reads version 1"), "{e}");
    }

    #[test]
    fn missing_header_is_named() {
        let e = read("{\"event\":\"provisioned\",\"node\":\"N1\"}\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (1, "format"));
    }

    #[test]
    fn truncated_last_line() {
        let e = read(&format!("{HEADER}\n{{\"event\":\"provisioned\",\"no")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("truncated"), "{e}");
    }

    #[test]
    fn last_line_without_newline_is_fine_when_complete() {
        let items = read(&format!(
            "{HEADER}\n{{\"event\":\"provisioned\",\"node\":\"N1\"}}"
        ))
        .unwrap();
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn unknown_event_kind() {
        let e = read(&format!(
            "{HEADER}\n{{\"event\":\"sealing\",\"node\":\"N1\"}}\n"
        ))
        .unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "event"));
        assert!(e.message.contains("unknown variant `sealing`"), "{e}");
    }

    #[test]
    fn missing_and_mistyped_fields() {
        let e = read(&format!("{HEADER}\n{{\"event\":\"provisioned\"}}\n")).unwrap_err();
        assert_eq!(e.field, "node");
        let e = read(&format!(
            "{HEADER}\n{{\"event\":\"append\",\"node\":\"N5\",\"offset\":\"one\"}}\n"
        ))
        .unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "offset"));
        assert!(e.message.contains("expected a non-negative integer"), "{e}");
    }

    #[test]
    fn unknown_node_is_named() {
        let e = read(&format!(
            "{HEADER}\n{{\"event\":\"provisioned\",\"node\":\"N7\"}}\n"
        ))
        .unwrap_err();
        assert_eq!(e.field, "node");
        assert!(e.message.contains("N7 is not a log server"), "{e}");
    }

    /// Header with 4 log servers of which N1..N3 form the nodeset, and a seal outcome line.
    fn outcome(line: &str) -> Result<Vec<TraceItem>, TraceError> {
        read(&format!(
            "{}\n{line}\n",
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":4,"nodeset":[1,2,3],"replication":2,"client":9}}"#
        ))
    }

    #[test]
    fn a_seal_outcome_s_status_is_read_and_checked() {
        use sealcheck_model::observable::MemberStatus::*;
        let items = outcome(
            r#"{"event":"seal-completed","node":"N9","max_local_tail":0,"status":{"N1":"S","N2":"?","N3":"E"}}"#,
        )
        .unwrap();
        let Item::Event(Event::SealCompleted {
            status: Some(s), ..
        }) = &items[0].item
        else {
            panic!("{:?}", items[0].item)
        };
        let got: Vec<_> = s.iter().map(|(n, st)| (n.0, *st)).collect();
        assert_eq!(got, vec![(1, Sealed), (2, Unknown), (3, Error)]);
        let bad = [
            (r#""status":{"N1":"X"}"#, "status.N1", "\"S\" (sealed)"),
            (r#""status":{"N1":1}"#, "status.N1", "got 1"),
            (r#""status":{"n1":"S"}"#, "status.n1", "not a node id"),
            (r#""status":"S""#, "status", "a nodeset status"),
            (
                r#""status":{"N4":"S"}"#,
                "status.N4",
                "not a member of the nodeset",
            ),
        ];
        for (field, named, says) in bad {
            for kind in ["seal-completed", "seal-failed"] {
                let e =
                    outcome(&format!(r#"{{"event":"{kind}","node":"N9",{field}}}"#)).unwrap_err();
                assert_eq!(
                    (e.line, e.field.as_str()),
                    (2, named),
                    "{kind} {field}: {e}"
                );
                assert!(e.message.contains(says), "{kind} {field}: {e}");
            }
        }
    }

    #[test]
    fn offsets_that_do_not_fit() {
        let e = read(&format!(
            "{HEADER}\n{{\"event\":\"append\",\"node\":\"N5\",\"offset\":1000001}}\n"
        ))
        .unwrap_err();
        assert_eq!(e.field, "offset");
        let e = read(&format!(
            "{HEADER}\n{{\"event\":\"append\",\"node\":\"N5\",\"offset\":2}}\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("does not fit"), "{e}");
    }

    #[test]
    fn time_must_not_go_back() {
        let e = read(&format!(
            "{HEADER}\n{{\"t\":5,\"event\":\"provisioned\",\"node\":\"N1\"}}\n{{\"t\":4,\"event\":\"provisioned\",\"node\":\"N2\"}}\n"
        ))
        .unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "t"));
    }

    #[test]
    fn roles_rename_the_sealer_to_the_client() {
        let h = r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2,"client":9},"roles":{"sealer":"N1"}}"#;
        let items = read(&format!(
            "{h}\n{{\"event\":\"seal-started\",\"node\":\"N1\"}}\n"
        ))
        .unwrap();
        assert_eq!(
            items[0].item,
            Item::Event(Event::SealStarted { node: NodeId(9) })
        );
        let e = read(&format!(
            "{h}\n{{\"event\":\"seal-started\",\"node\":\"N2\"}}\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("N2 is not the sealer"), "{e}");
    }

    #[test]
    fn overlong_line_is_refused_without_reading_it_all() {
        let long = "x".repeat(MAX_LINE + 10);
        let e = read(&format!("{HEADER}\n{long}\n")).unwrap_err();
        assert!(e.message.contains("longer than"), "{e}");
    }
}
