//! Finding the `restate-server` and `restatectl` binaries.
//!
//! The project pins Restate 1.7.12 through npm (`restate/package.json`): `npm ci --prefix restate`
//! puts the binaries under `restate/node_modules/@restatedev/*/bin/`. An explicit path (from a
//! flag or the environment variables [`SERVER_ENV`] and [`RESTATECTL_ENV`]) takes precedence.
//! Other published Restate versions are installed into a cache by [`crate::versions`].

use std::path::{Path, PathBuf};

use crate::Error;

/// Environment variable naming the `restate-server` binary to use.
pub const SERVER_ENV: &str = "SEALCHECK_RESTATE_SERVER";
/// Environment variable naming the `restatectl` binary to use.
pub const RESTATECTL_ENV: &str = "SEALCHECK_RESTATECTL";
/// The Restate version the recorder was written against (and the npm packages pin).
pub const RESTATE_VERSION: &str = "1.7.12";

/// Server binary path relative to the project root, as installed by npm.
pub const SERVER_NPM_PATH: &str =
    "restate/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server";
/// restatectl binary path relative to the project root, as installed by npm.
pub const RESTATECTL_NPM_PATH: &str =
    "restate/node_modules/@restatedev/restatectl-linux-x64/bin/restatectl";

/// Paths of the two Restate binaries the recorder runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// `restate-server`.
    pub server: PathBuf,
    /// `restatectl`.
    pub restatectl: PathBuf,
}

impl Binaries {
    /// Finds the binaries: an explicit path wins (`server` / `restatectl` arguments, e.g. from
    /// CLI flags), then the environment variables [`SERVER_ENV`] / [`RESTATECTL_ENV`], then the
    /// npm install under `project_root`. Every chosen path must be an existing file; the error
    /// names each missing binary, where it was looked for, and how to install it.
    pub fn discover(
        project_root: &Path,
        server: Option<PathBuf>,
        restatectl: Option<PathBuf>,
    ) -> Result<Binaries, Error> {
        let server = pick(project_root, server, SERVER_ENV, SERVER_NPM_PATH);
        let restatectl = pick(
            project_root,
            restatectl,
            RESTATECTL_ENV,
            RESTATECTL_NPM_PATH,
        );
        let mut missing = Vec::new();
        for (name, (path, origin)) in [("restate-server", &server), ("restatectl", &restatectl)] {
            if !path.is_file() {
                missing.push(format!("{name} not found at {} ({origin})", path.display()));
            }
        }
        if !missing.is_empty() {
            return Err(Error::MissingBinaries {
                details: missing.join("; "),
                fix: format!(
                    "run `npm ci --prefix {}` (installs Restate {RESTATE_VERSION}) or set {SERVER_ENV} / {RESTATECTL_ENV}",
                    project_root.join("restate").display()
                ),
            });
        }
        Ok(Binaries {
            server: server.0,
            restatectl: restatectl.0,
        })
    }

    /// The version the server prints for `--version` (`restate-server 1.7.12` -> `1.7.12`).
    /// A recording is labelled with it: the binaries may be another version than the one the
    /// project pins ([`RESTATE_VERSION`]).
    pub fn server_version(&self) -> Result<String, Error> {
        let out = self.server_says("--version")?;
        version_in(&out).ok_or_else(|| {
            Error::Process(format!(
                "{} --version printed no version: {:?}",
                self.server.display(),
                out.trim()
            ))
        })
    }

    /// Whether the server's `--help` lists `flag` (1.5's does not know `--no-logo`, and exits
    /// at once when given it).
    pub fn server_knows(&self, flag: &str) -> bool {
        self.server_says("--help")
            .is_ok_and(|help| help.split_whitespace().any(|w| w == flag))
    }

    fn server_says(&self, arg: &str) -> Result<String, Error> {
        let mut cmd = std::process::Command::new(&self.server);
        cmd.arg(arg);
        let out = crate::process::run_bounded(cmd, std::time::Duration::from_secs(10))?;
        if out.exit != Some(0) {
            return Err(Error::Process(format!(
                "{} {arg} exited {:?}: {}",
                self.server.display(),
                out.exit,
                out.stderr.trim()
            )));
        }
        Ok(out.stdout)
    }

    /// Like [`Binaries::discover`] with no explicit paths.
    pub fn from_env(project_root: &Path) -> Result<Binaries, Error> {
        Binaries::discover(project_root, None, None)
    }
}

/// The `restatectl` to query a running cluster with (`sealcheck follow --sql`): `explicit`,
/// then [`RESTATECTL_ENV`], then the npm install under `project_root`, then `restatectl` on
/// `PATH`. The error names where it looked.
pub fn find_restatectl(project_root: &Path, explicit: Option<PathBuf>) -> Result<PathBuf, Error> {
    let explicit_given = explicit.is_some() || std::env::var_os(RESTATECTL_ENV).is_some();
    let (path, origin) = pick(project_root, explicit, RESTATECTL_ENV, RESTATECTL_NPM_PATH);
    if path.is_file() {
        return Ok(path);
    }
    if !explicit_given {
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.join("restatectl"))
            .find(|p| p.is_file());
        if let Some(p) = on_path {
            return Ok(p);
        }
    }
    Err(Error::MissingBinaries {
        details: format!(
            "restatectl not found at {} ({origin}){}",
            path.display(),
            if explicit_given { "" } else { " nor on PATH" }
        ),
        fix: format!(
            "pass --restatectl PATH, set {RESTATECTL_ENV}, or run `npm ci --prefix {}`",
            project_root.join("restate").display()
        ),
    })
}

/// The first word of `text` that looks like a version (`1.7.12`).
pub(crate) fn version_in(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| {
            w.split('.').count() >= 2
                && w.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        })
        .map(str::to_string)
}

fn pick(root: &Path, explicit: Option<PathBuf>, env: &str, npm_path: &str) -> (PathBuf, String) {
    if let Some(p) = explicit {
        return (p, "explicit path".to_string());
    }
    if let Some(p) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        return (PathBuf::from(p), format!("from {env}"));
    }
    (
        root.join(npm_path),
        "npm install under the project root".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_read_from_what_the_server_prints() {
        assert_eq!(
            version_in("restate-server 1.7.12\n").as_deref(),
            Some("1.7.12")
        );
        assert_eq!(version_in("restate-server 1.5.3").as_deref(), Some("1.5.3"));
        assert_eq!(version_in("restate-server dev-build"), None);
        assert_eq!(version_in(""), None);
    }

    #[test]
    fn missing_binaries_name_the_fix() {
        let dir = std::env::temp_dir().join(format!("sealcheck-bin-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = Binaries::discover(&dir, Some(dir.join("no-server")), Some(dir.join("no-ctl")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("restate-server not found"), "{err}");
        assert!(err.contains("restatectl not found"), "{err}");
        assert!(err.contains("npm ci --prefix"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn explicit_paths_win() {
        let exe = std::env::current_exe().unwrap();
        let b = Binaries::discover(
            Path::new("/nonexistent"),
            Some(exe.clone()),
            Some(exe.clone()),
        )
        .unwrap();
        assert_eq!(b.server, exe);
    }
}
