//! Finding the `restate-server` and `restatectl` binaries.
//!
//! The project pins Restate 1.7.12 through npm (`restate/package.json`): `npm ci --prefix restate`
//! puts the binaries under `restate/node_modules/@restatedev/*/bin/`. An explicit path (from a
//! flag or the environment variables [`SERVER_ENV`] and [`RESTATECTL_ENV`]) takes precedence.

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
