//! Scenario files: TOML under `specs/` that fill a [`Config`].
//!
//! Errors name the file, the line and the field, so that a user can fix a spec without reading
//! this code: `specs/x.toml:4: field `nodeset`: N7 is not a log server (log servers are N1..N3)`.

use std::path::{Path, PathBuf};

use sealcheck_model::Config;

/// The name under which the built-in incident scenario is reported.
pub const BUILTIN_NAME: &str = "<built-in: three_logserver_seal_empty>";

/// A scenario file that could not be read or does not describe a model.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{file}: cannot read the scenario file: {source}")]
    Unreadable {
        /// The file.
        file: String,
        /// The I/O error that kept it from being read.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a field is unknown, missing or of the wrong type, or a
    /// value does not make a model.
    #[error("{file}:{line}: field `{field}`: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The field path.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A loaded scenario: where it came from and the configuration it describes.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The file it was read from; `None` for the built-in scenario.
    pub path: Option<PathBuf>,
    /// The model's configuration, overrides applied.
    pub config: Config,
    /// Command-line overrides applied on top of the file (as they must be repeated).
    pub overrides: Vec<String>,
    /// The trace whose header the scenario was taken from (`--from-trace`), if any.
    pub from_trace: Option<PathBuf>,
}

impl Spec {
    /// The built-in default scenario: the incident exactly as it was (harness `seal-once`).
    pub fn builtin() -> Spec {
        Spec {
            path: None,
            config: Config::incident(),
            overrides: Vec::new(),
            from_trace: None,
        }
    }

    /// How a report names this scenario: the file path, or the built-in name.
    pub fn display_name(&self) -> String {
        match (&self.path, &self.from_trace) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(t)) => format!("header of {}, with every seeded-bug step", t.display()),
            (None, None) => BUILTIN_NAME.to_string(),
        }
    }

    /// The spec argument to repeat in a command that reproduces something (empty for the
    /// built-in scenario, which is the default).
    pub fn command_arg(&self) -> String {
        let mut s = match (&self.path, &self.from_trace) {
            (Some(p), _) => format!(" {}", shell_quote(&p.display().to_string())),
            (None, Some(t)) => format!(" --from-trace {}", shell_quote(&t.display().to_string())),
            (None, None) => String::new(),
        };
        for o in &self.overrides {
            s.push(' ');
            s.push_str(o);
        }
        s
    }

    /// Reads and validates a scenario file: a regular file of at most
    /// [`crate::input::MAX_SPEC_BYTES`] (a FIFO or a device is refused without blocking).
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let file = path.display().to_string();
        let text =
            crate::input::read_text(path, crate::input::MAX_SPEC_BYTES).map_err(|source| {
                SpecError::Unreadable {
                    file: file.clone(),
                    source,
                }
            })?;
        let config = parse(&file, &text)?;
        Ok(Spec {
            path: Some(path.to_path_buf()),
            config,
            overrides: Vec::new(),
            from_trace: None,
        })
    }
}

/// Parses and validates scenario text; `file` is only used in messages.
pub fn parse(file: &str, text: &str) -> Result<Config, SpecError> {
    let mut config: Config = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of_offset(text, s.start)).unwrap_or(1);
        let message = e.message().trim().to_string();
        let field = field_from_message(&message)
            .or_else(|| key_at_line(text, line))
            .unwrap_or_else(|| "-".to_string());
        SpecError::Invalid {
            file: file.to_string(),
            line,
            field,
            message,
        }
    })?;
    if config.name == "unnamed" {
        if let Some(stem) = Path::new(file).file_stem() {
            config.name = stem.to_string_lossy().into_owned();
        }
    }
    config
        .clone()
        .into_model()
        .map_err(|e| SpecError::Invalid {
            file: file.to_string(),
            line: line_of_field(text, &e.field),
            field: e.field,
            message: e.message,
        })?;
    Ok(config)
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The field a serde error message names (`unknown field `x``, `missing field `x``), if any.
pub(crate) fn field_from_message(message: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `", "field `"] {
        if let Some(start) = message.find(marker) {
            let rest = &message[start + marker.len()..];
            if let Some(end) = rest.find('`') {
                return Some(rest[..end].to_string());
            }
        }
    }
    None
}

fn key_at_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then(|| key.to_string())
}

/// The line where a (possibly dotted, `table.key`) field is set; 1 if it is not in the text
/// (a missing field or a default).
fn line_of_field(text: &str, field: &str) -> usize {
    let (table, key) = match field.rsplit_once('.') {
        Some((t, k)) => (t, k),
        None => ("", field),
    };
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            continue;
        }
        if let Some((k, _)) = t.split_once('=') {
            if k.trim() == key && current == table {
                return i + 1;
            }
        }
    }
    1
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("s.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_field_names_line_and_field() {
        let e = err("log_servers = 3\nnodeset = [1,2,3]\nreplication = 2\nnodsets = 1\n");
        assert!(
            e.starts_with("s.toml:4: field `nodsets`: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn missing_field_is_named() {
        let e = err("log_servers = 3\nnodeset = [1,2,3]\n");
        assert!(e.contains("field `replication`"), "{e}");
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let e = err("log_servers = \"three\"\nnodeset = [1,2,3]\nreplication = 2\n");
        assert!(e.starts_with("s.toml:1: field `log_servers`"), "{e}");
    }

    #[test]
    fn semantic_error_points_at_the_field_in_its_table() {
        let e = err(
            "log_servers = 3\nnodeset = [1,2,3]\nreplication = 2\n[harness]\nkind = \"retry\"\nmax_attempts = 0\n",
        );
        assert_eq!(
            e,
            "s.toml:6: field `harness.max_attempts`: must be between 1 and 16, got 0"
        );
    }

    #[test]
    fn nodeset_outside_the_cluster_is_rejected() {
        let e = err("log_servers = 3\nnodeset = [1,2,7]\nreplication = 2\n");
        assert_eq!(
            e,
            "s.toml:2: field `nodeset`: N7 is not a log server (log servers are N1..N3)"
        );
    }

    #[test]
    fn unknown_enum_value_is_named() {
        let e = err("log_servers = 3\nnodeset = [1,2,3]\nreplication = 2\nbugs = [\"nope\"]\n");
        assert!(e.starts_with("s.toml:4:"), "{e}");
        assert!(e.contains("unknown variant `nope`"), "{e}");
    }

    #[test]
    fn name_defaults_to_the_file_stem() {
        let c = parse(
            "specs/abc.toml",
            "log_servers = 3\nnodeset = [1,2,3]\nreplication = 2\n",
        )
        .unwrap();
        assert_eq!(c.name, "abc");
    }
}
