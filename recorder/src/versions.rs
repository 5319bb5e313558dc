//! Other Restate versions: the published versions sealcheck knows, each pinned by a committed
//! npm lockfile, and their installation into a cache (`--restate-version V`).
//!
//! Every version in [`KNOWN`] other than [`RESTATE_VERSION`] has a `package.json` and a
//! `package-lock.json` under `restate/versions/<V>/` of the project root; the lockfile pins
//! `@restatedev/restate-server-linux-x64` at V and `@restatedev/restatectl-linux-x64` by their
//! `integrity` (sha512) field. npm publishes restatectl only for 1.7.10 and 1.7.12, so the other
//! versions are paired with restatectl 1.7.12. [`RESTATE_VERSION`] is pinned by `restate/`
//! itself.
//!
//! [`Installer::install`] copies the two files into `<cache>/restate/<V>/` and runs
//! `npm ci --prefix <that directory>` there, unless the binaries there already print the
//! expected versions. The cache is [`CACHE_ENV`], else `$XDG_CACHE_HOME/sealcheck`, else
//! `~/.cache/sealcheck` ([`cache_root`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::binaries::{
    version_in, Binaries, RESTATECTL_NPM_PATH, RESTATE_VERSION, SERVER_NPM_PATH,
};
use crate::Error;

/// Environment variable naming the cache directory (default: `$XDG_CACHE_HOME/sealcheck`, then
/// `~/.cache/sealcheck`).
pub const CACHE_ENV: &str = "SEALCHECK_CACHE";

/// Where the committed lockfiles of the versions other than [`RESTATE_VERSION`] are, relative
/// to the project root: one directory per version.
pub const VERSIONS_DIR: &str = "restate/versions";

/// How long `npm ci` may take before it is stopped.
pub const NPM_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A Restate version sealcheck can install: the server's version and the restatectl paired with
/// it (the same version where npm publishes one, else 1.7.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownVersion {
    /// The `restate-server` version (what `--restate-version` names).
    pub server: &'static str,
    /// The `restatectl` version its lockfile pins.
    pub restatectl: &'static str,
}

/// Every version of `@restatedev/restate-server-linux-x64` on npm (as of December 2026), oldest
/// first. npm has `@restatedev/restatectl-linux-x64` only for 1.7.10 and 1.7.12.
pub const KNOWN: &[KnownVersion] = &[
    v("1.5.3", "1.7.12"),
    v("1.6.1", "1.7.12"),
    v("1.6.2", "1.7.12"),
    v("1.7.2", "1.7.12"),
    v("1.7.4", "1.7.12"),
    v("1.7.6", "1.7.12"),
    v("1.7.8", "1.7.12"),
    v("1.7.9", "1.7.12"),
    v("1.7.10", "1.7.10"),
    v(RESTATE_VERSION, RESTATE_VERSION),
];

const fn v(server: &'static str, restatectl: &'static str) -> KnownVersion {
    KnownVersion { server, restatectl }
}

/// The known version whose server is `version`.
pub fn known(version: &str) -> Option<KnownVersion> {
    KNOWN.iter().copied().find(|k| k.server == version)
}

/// The known server versions, comma-separated (for error messages).
pub fn known_list() -> String {
    KNOWN
        .iter()
        .map(|k| k.server)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a `--restate-version` argument: the version itself, or a message naming the known
/// ones.
pub fn parse_version(text: &str) -> Result<String, String> {
    let text = text.trim();
    match known(text) {
        Some(k) => Ok(k.server.to_string()),
        None => Err(format!(
            "sealcheck knows no Restate version `{text}`; known: {} (each pinned by a lockfile under {VERSIONS_DIR}/)",
            known_list()
        )),
    }
}

impl KnownVersion {
    /// The directory of the project that holds this version's committed `package.json` and
    /// `package-lock.json`: `restate/` for [`RESTATE_VERSION`], else
    /// `restate/versions/<V>/`.
    pub fn lock_dir(&self, project_root: &Path) -> PathBuf {
        if self.server == RESTATE_VERSION {
            project_root.join("restate")
        } else {
            project_root.join(VERSIONS_DIR).join(self.server)
        }
    }
}

/// The cache directory from the values of [`CACHE_ENV`], `XDG_CACHE_HOME` and `HOME` (an empty
/// value counts as unset; a relative `XDG_CACHE_HOME` is ignored, as the XDG specification
/// says). `None` when none is usable.
pub fn cache_root(
    sealcheck_cache: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(sealcheck_cache) {
        return Some(dir);
    }
    if let Some(dir) = set(xdg_cache_home).filter(|d| d.is_absolute()) {
        return Some(dir.join("sealcheck"));
    }
    set(home).map(|h| h.join(".cache").join("sealcheck"))
}

/// [`cache_root`] of this process's environment; the error says which variables to set.
pub fn cache_root_from_env() -> Result<PathBuf, Error> {
    cache_root(
        std::env::var_os(CACHE_ENV),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
    .ok_or_else(|| Error::Environment {
        details: format!("no cache directory: none of {CACHE_ENV}, XDG_CACHE_HOME, HOME is set"),
        fix: format!("set {CACHE_ENV} to a writable directory"),
    })
}

/// Installs known Restate versions into a cache with npm.
#[derive(Debug, Clone)]
pub struct Installer {
    /// The cache directory; version V goes into `<cache>/restate/<V>/`.
    pub cache: PathBuf,
    /// The npm program (`npm`, looked up on `PATH`, or a path).
    pub npm: OsString,
    /// How long `npm ci` may run.
    pub timeout: Duration,
}

impl Installer {
    /// The installer of this environment: the cache of [`cache_root_from_env`], `npm` from
    /// `PATH`, [`NPM_TIMEOUT`].
    pub fn from_env() -> Result<Installer, Error> {
        Ok(Installer {
            cache: cache_root_from_env()?,
            npm: "npm".into(),
            timeout: NPM_TIMEOUT,
        })
    }

    /// Where version `version` is (or would be) installed.
    pub fn install_dir(&self, version: &str) -> PathBuf {
        self.cache.join("restate").join(version)
    }

    /// The binaries of `version`, installed if needed. For [`RESTATE_VERSION`], the project's
    /// own npm install under `restate/` is used when it is there and prints that version.
    /// Otherwise the version's committed lockfile (under `project_root`) is installed into
    /// [`Installer::install_dir`] with `npm ci`, unless an earlier install from the same
    /// lockfile is there and its binaries print the expected versions. `progress` receives a
    /// line when an install starts and when it is done.
    ///
    /// Errors (each naming what failed and the commands to run by hand): an unknown version, a
    /// missing committed lockfile, npm not on `PATH`, `npm ci` failing or timing out, and
    /// installed binaries that print another version than the lockfile pins.
    pub fn install(
        &self,
        project_root: &Path,
        version: &str,
        progress: &mut dyn FnMut(String),
    ) -> Result<Binaries, Error> {
        let k = known(version).ok_or_else(|| Error::Install {
            version: version.to_string(),
            details: parse_version(version).unwrap_err(),
            by_hand: "pass one of the known versions".into(),
        })?;
        if k.server == RESTATE_VERSION {
            let project = Binaries {
                server: project_root.join(SERVER_NPM_PATH),
                restatectl: project_root.join(RESTATECTL_NPM_PATH),
            };
            if reports(&project, k).is_ok() {
                return Ok(project);
            }
        }
        let src = k.lock_dir(project_root);
        let dir = self.install_dir(k.server);
        let by_hand = self.by_hand(&src, &dir);
        let lock = read_lock(&src, k, &by_hand)?;
        let bins = Binaries {
            server: dir.join(npm_bin(SERVER_NPM_PATH)),
            restatectl: dir.join(npm_bin(RESTATECTL_NPM_PATH)),
        };
        let installed_lock = std::fs::read(dir.join(LOCK)).ok();
        if installed_lock.as_deref() == Some(lock.as_slice()) && reports(&bins, k).is_ok() {
            return Ok(bins);
        }

        let npm = self.find_npm().ok_or_else(|| Error::Install {
            version: k.server.to_string(),
            details: format!(
                "{} is not on PATH (it installs the pinned binaries)",
                self.npm.to_string_lossy()
            ),
            by_hand: format!(
                "install Node.js and npm (Debian: `apt-get install npm`), then {by_hand}"
            ),
        })?;
        progress(format!(
            "installing Restate {} (restatectl {}) into {} (npm ci)",
            k.server,
            k.restatectl,
            dir.display()
        ));
        let started = std::time::Instant::now();
        // Installed beside the final directory and renamed into place, so that an interrupted
        // or failed install never leaves a directory that looks installed.
        let staging = self.cache.join("restate").join(format!(
            ".{}.partial-{}",
            k.server,
            std::process::id()
        ));
        let fail = |details: String| Error::Install {
            version: k.server.to_string(),
            details,
            by_hand: by_hand.clone(),
        };
        remove_abandoned_staging(&self.cache.join("restate"), k.server);
        let result = (|| {
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir_all(&staging)
                .map_err(|e| fail(format!("cannot create {}: {e}", staging.display())))?;
            for file in [PACKAGE, LOCK] {
                std::fs::copy(src.join(file), staging.join(file)).map_err(|e| {
                    fail(format!(
                        "cannot copy {} into {}: {e}",
                        src.join(file).display(),
                        staging.display()
                    ))
                })?;
            }
            let mut cmd = Command::new(&npm);
            cmd.arg("ci")
                .arg("--prefix")
                .arg(&staging)
                .args(["--no-audit", "--no-fund"]);
            let out = crate::process::run_bounded(cmd, self.timeout)
                .map_err(|e| fail(format!("cannot run npm: {e}")))?;
            if out.timed_out {
                return Err(fail(format!(
                    "`npm ci` did not finish within {} s (network?)",
                    self.timeout.as_secs()
                )));
            }
            if out.exit != Some(0) {
                return Err(fail(format!(
                    "`npm ci` exited {}: {}",
                    out.exit
                        .map_or("on a signal".to_string(), |c| c.to_string()),
                    npm_summary(&out.stderr, &out.stdout)
                )));
            }
            let staged = Binaries {
                server: staging.join(npm_bin(SERVER_NPM_PATH)),
                restatectl: staging.join(npm_bin(RESTATECTL_NPM_PATH)),
            };
            reports(&staged, k).map_err(fail)?;
            // Another sealcheck may have installed the same lockfile meanwhile: keep that one.
            if std::fs::read(dir.join(LOCK)).ok().as_deref() == Some(lock.as_slice())
                && reports(&bins, k).is_ok()
            {
                let _ = std::fs::remove_dir_all(&staging);
                return Ok(());
            }
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| {
                    fail(format!(
                        "cannot remove the earlier install {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            std::fs::rename(&staging, &dir).map_err(|e| {
                fail(format!(
                    "cannot move {} to {}: {e}",
                    staging.display(),
                    dir.display()
                ))
            })
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result?;
        // What the binaries print was checked in the staging directory; check the paths the
        // recording will run.
        reports(&bins, k).map_err(fail)?;
        progress(format!(
            "installed Restate {} in {:.1} s",
            k.server,
            started.elapsed().as_secs_f64()
        ));
        Ok(bins)
    }

    /// `npm` as a path: itself if it has a directory part, else its first match on `PATH`.
    fn find_npm(&self) -> Option<PathBuf> {
        let npm = Path::new(&self.npm);
        if npm.components().count() > 1 {
            return npm.is_file().then(|| npm.to_path_buf());
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(npm))
            .find(|p| p.is_file())
    }

    /// The commands that install a version by hand, and how to use the result.
    fn by_hand(&self, src: &Path, dir: &Path) -> String {
        let npm = self.npm.to_string_lossy();
        format!(
            "run `mkdir -p {dir} && cp {src}/{PACKAGE} {src}/{LOCK} {dir}/ && {npm} ci --prefix {dir} --no-audit --no-fund` (sealcheck then uses that install), or pass --server PATH --restatectl PATH instead of --restate-version",
            dir = dir.display(),
            src = src.display(),
        )
    }
}

/// Removes the staging directories of `version` under `dir` left by installs whose process
/// is gone (killed during `npm ci`).
fn remove_abandoned_staging(dir: &Path, version: &str) {
    let prefix = format!(".{version}.partial-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix(&prefix));
        if let Some(pid) = pid.filter(|p| p.parse::<u32>().is_ok()) {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

const PACKAGE: &str = "package.json";
const LOCK: &str = "package-lock.json";

/// `restate/node_modules/...` -> `node_modules/...`.
fn npm_bin(project_path: &'static str) -> &'static str {
    project_path
        .strip_prefix("restate/")
        .unwrap_or(project_path)
}

/// The committed lockfile of `k`, checked to pin both packages at their versions.
fn read_lock(src: &Path, k: KnownVersion, by_hand: &str) -> Result<Vec<u8>, Error> {
    let path = src.join(LOCK);
    let fail = |details: String| {
        Error::Install {
        version: k.server.to_string(),
        details,
        by_hand: format!(
            "run sealcheck from the project (or pass --root DIR, the directory that has {VERSIONS_DIR}/), then {by_hand}"
        ),
    }
    };
    if !src.join(PACKAGE).is_file() {
        return Err(fail(format!("{} is missing", src.join(PACKAGE).display())));
    }
    let bytes =
        std::fs::read(&path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    let pins = lock_pins(&bytes).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    for (package, want) in [
        (SERVER_PACKAGE, k.server),
        (RESTATECTL_PACKAGE, k.restatectl),
    ] {
        match pins.iter().find(|p| p.package == package) {
            Some(p) if p.version == want && p.integrity.starts_with("sha512-") => {}
            Some(p) => {
                return Err(fail(format!(
                    "{} pins {package} {} ({}), expected {want} with a sha512 integrity",
                    path.display(),
                    p.version,
                    p.integrity
                )))
            }
            None => return Err(fail(format!("{} does not pin {package}", path.display()))),
        }
    }
    Ok(bytes)
}

/// The npm package of `restate-server` for Linux x86-64.
pub const SERVER_PACKAGE: &str = "@restatedev/restate-server-linux-x64";
/// The npm package of `restatectl` for Linux x86-64.
pub const RESTATECTL_PACKAGE: &str = "@restatedev/restatectl-linux-x64";

/// One package pinned by an npm lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockPin {
    /// The package name (`@restatedev/restate-server-linux-x64`).
    pub package: String,
    /// Its exact version.
    pub version: String,
    /// Its `integrity` field (`sha512-...`), empty if the lockfile has none.
    pub integrity: String,
}

/// The packages an npm lockfile (version 2 or 3: its `packages` map) pins under
/// `node_modules/`.
pub fn lock_pins(lockfile: &[u8]) -> Result<Vec<LockPin>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(lockfile).map_err(|e| format!("not JSON: {e}"))?;
    let packages = v
        .get("packages")
        .and_then(|p| p.as_object())
        .ok_or("no `packages` object (lockfileVersion 2 or 3 expected)")?;
    let field = |p: &serde_json::Value, f: &str| {
        p.get(f)
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Ok(packages
        .iter()
        .filter_map(|(key, p)| {
            key.strip_prefix("node_modules/").map(|name| LockPin {
                package: name.to_string(),
                version: field(p, "version"),
                integrity: field(p, "integrity"),
            })
        })
        .collect())
}

/// Whether both binaries exist and print the versions `k` pins; the error says which does not.
fn reports(bins: &Binaries, k: KnownVersion) -> Result<(), String> {
    for (name, path) in [
        ("restate-server", &bins.server),
        ("restatectl", &bins.restatectl),
    ] {
        if !path.is_file() {
            return Err(format!("{name} is not at {}", path.display()));
        }
    }
    let server = bins.server_version().map_err(|e| e.to_string())?;
    if server != k.server {
        return Err(format!(
            "{} --version reports {server}, not {} (the lockfile pins {})",
            bins.server.display(),
            k.server,
            k.server
        ));
    }
    let ctl = version_of(&bins.restatectl)?;
    if ctl != k.restatectl {
        return Err(format!(
            "{} --version reports {ctl}, not {}",
            bins.restatectl.display(),
            k.restatectl
        ));
    }
    Ok(())
}

/// The version a binary prints for `--version`.
fn version_of(binary: &Path) -> Result<String, String> {
    let mut cmd = Command::new(binary);
    cmd.arg("--version");
    let out =
        crate::process::run_bounded(cmd, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    if out.exit != Some(0) {
        return Err(format!(
            "{} --version exited {:?}: {}",
            binary.display(),
            out.exit,
            out.stderr.trim()
        ));
    }
    version_in(&out.stdout).ok_or_else(|| {
        format!(
            "{} --version printed no version: {:?}",
            binary.display(),
            out.stdout.trim()
        )
    })
}

/// What a failed npm printed, short enough for an error message: its first lines (stderr,
/// else stdout) up to a stack trace, at most four, and the line naming npm's complete log.
fn npm_summary(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut kept: Vec<&str> = lines
        .iter()
        .take_while(|l| {
            !l.trim_start_matches("npm error")
                .trim_start()
                .starts_with("at ")
        })
        .take(4)
        .copied()
        .collect();
    if let Some(log) = lines.iter().rev().find(|l| l.contains("complete log")) {
        if !kept.contains(log) {
            kept.push(log);
        }
    }
    if kept.is_empty() {
        "(no output)".into()
    } else {
        kept.join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_known_versions_are_the_directories_under_restate_versions() {
        let mut dirs: Vec<String> = std::fs::read_dir(project_root().join(VERSIONS_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        dirs.sort();
        let mut listed: Vec<String> = KNOWN
            .iter()
            .filter(|k| k.server != RESTATE_VERSION)
            .map(|k| k.server.to_string())
            .collect();
        listed.sort();
        assert_eq!(dirs, listed);
        assert!(known("1.7.12").is_some() && known("1.6.2").is_some() && known("9.9.9").is_none());
    }

    #[test]
    fn every_committed_lockfile_pins_both_binaries_by_integrity() {
        for k in KNOWN {
            let dir = k.lock_dir(&project_root());
            let lock = std::fs::read(dir.join(LOCK)).unwrap();
            let pins = lock_pins(&lock).unwrap();
            assert_eq!(pins.len(), 2, "{}: {pins:?}", k.server);
            for (package, want) in [
                (SERVER_PACKAGE, k.server),
                (RESTATECTL_PACKAGE, k.restatectl),
            ] {
                let p = pins.iter().find(|p| p.package == package).unwrap();
                assert_eq!(p.version, want, "{} {package}", k.server);
                assert!(p.integrity.starts_with("sha512-"), "{} {package}", k.server);
                assert_eq!(p.integrity.len(), "sha512-".len() + 88, "{}", p.integrity);
            }
            let package: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join(PACKAGE)).unwrap()).unwrap();
            assert_eq!(package["dependencies"][SERVER_PACKAGE], k.server);
            assert_eq!(package["dependencies"][RESTATECTL_PACKAGE], k.restatectl);
            // The lockfile agrees with package.json (what `npm ci` checks).
            let lock: serde_json::Value = serde_json::from_slice(&lock).unwrap();
            assert_eq!(
                lock["packages"][""]["dependencies"],
                package["dependencies"]
            );
        }
        // restatectl exists on npm only for 1.7.10 and 1.7.12.
        for k in KNOWN {
            assert!(["1.7.10", "1.7.12"].contains(&k.restatectl), "{k:?}");
        }
    }

    #[test]
    fn unknown_versions_are_refused_naming_the_known_ones() {
        assert_eq!(parse_version(" 1.6.2 ").unwrap(), "1.6.2");
        let err = parse_version("9.9.9").unwrap_err();
        assert!(
            err.contains("`9.9.9`") && err.contains("1.5.3, 1.6.1"),
            "{err}"
        );
        assert!(err.contains("1.7.12"), "{err}");
    }

    #[test]
    fn the_cache_is_sealcheck_cache_then_xdg_then_home() {
        let s = |x: &str| Some(OsString::from(x));
        assert_eq!(
            cache_root(s("/c"), s("/x"), s("/h")),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            cache_root(s(""), s("/x"), s("/h")),
            Some(PathBuf::from("/x/sealcheck"))
        );
        assert_eq!(
            cache_root(None, s("relative"), s("/h")),
            Some(PathBuf::from("/h/.cache/sealcheck"))
        );
        assert_eq!(
            cache_root(None, None, s("/h")),
            Some(PathBuf::from("/h/.cache/sealcheck"))
        );
        assert_eq!(cache_root(None, s(""), None), None);
        let i = Installer {
            cache: "/c".into(),
            npm: "npm".into(),
            timeout: NPM_TIMEOUT,
        };
        assert_eq!(i.install_dir("1.6.2"), PathBuf::from("/c/restate/1.6.2"));
    }

    /// A scratch directory with a fake `npm` whose `ci --prefix DIR` runs `body` (a shell
    /// snippet, `$3` being DIR) and counts its runs in `<scratch>/npm-runs`.
    struct Fake {
        dir: PathBuf,
    }

    impl Fake {
        fn new(name: &str, body: &str) -> Fake {
            let dir = std::env::temp_dir()
                .join(format!("sealcheck-versions-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let npm = dir.join("npm");
            std::fs::write(
                &npm,
                format!(
                    "#!/bin/sh\necho run >> {}/npm-runs\n[ \"$1 $2\" = \"ci --prefix\" ] || exit 9\n{body}\n",
                    dir.display()
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
            Fake { dir }
        }

        fn installer(&self) -> Installer {
            Installer {
                cache: self.dir.join("cache"),
                npm: self.dir.join("npm").into(),
                timeout: Duration::from_secs(60),
            }
        }

        fn runs(&self) -> usize {
            std::fs::read_to_string(self.dir.join("npm-runs"))
                .map(|s| s.lines().count())
                .unwrap_or(0)
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Shell lines that put fake binaries under `$3/node_modules` printing these versions.
    fn fake_binaries(server: &str, ctl: &str) -> String {
        let mut s = String::new();
        for (pkg, bin, text) in [
            (
                SERVER_PACKAGE,
                "restate-server",
                format!("restate-server {server}"),
            ),
            (
                RESTATECTL_PACKAGE,
                "restatectl",
                format!("restatectl {ctl} fake"),
            ),
        ] {
            let d = format!("\"$3/node_modules/{pkg}/bin\"");
            s += &format!(
                "mkdir -p {d}\nprintf '#!/bin/sh\\necho {text}\\n' > {d}/{bin}\nchmod +x {d}/{bin}\n"
            );
        }
        s
    }

    #[test]
    fn an_install_runs_npm_ci_once_and_checks_the_versions() {
        let fake = Fake::new("ok", &fake_binaries("1.6.2", "1.7.12"));
        let inst = fake.installer();
        let mut lines = Vec::new();
        let bins = inst
            .install(&project_root(), "1.6.2", &mut |l| lines.push(l))
            .unwrap();
        assert_eq!(bins.server_version().unwrap(), "1.6.2");
        assert!(bins.server.starts_with(inst.install_dir("1.6.2")));
        assert!(lines[0].starts_with("installing Restate 1.6.2 (restatectl 1.7.12) into "));
        assert!(lines[0].ends_with("(npm ci)"), "{lines:?}");
        assert_eq!(fake.runs(), 1);
        // The committed files were copied into the install directory.
        let committed = std::fs::read(known("1.6.2").unwrap().lock_dir(&project_root()).join(LOCK));
        assert_eq!(
            std::fs::read(inst.install_dir("1.6.2").join(LOCK)).unwrap(),
            committed.unwrap()
        );
        // Installed already: npm is not run again, nothing is printed.
        let mut again = Vec::new();
        inst.install(&project_root(), "1.6.2", &mut |l| again.push(l))
            .unwrap();
        assert_eq!(fake.runs(), 1);
        assert!(again.is_empty(), "{again:?}");
        // An install killed during `npm ci` left a staging directory: the next install
        // removes it (its process is gone), not one of a running process.
        let dead = inst.cache.join("restate/.1.6.2.partial-4000000000");
        let alive = inst
            .cache
            .join(format!("restate/.1.6.2.partial-{}", std::process::id()));
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::create_dir_all(&alive).unwrap();
        remove_abandoned_staging(&inst.cache.join("restate"), "1.6.2");
        assert!(!dead.exists() && alive.exists());
        std::fs::remove_dir_all(&alive).unwrap();
        // No staging directory is left.
        let left: Vec<_> = std::fs::read_dir(inst.cache.join("restate"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![OsString::from("1.6.2")]);
    }

    #[test]
    fn a_failing_npm_is_a_clear_error_with_the_command_to_run_by_hand() {
        let fake = Fake::new(
            "fails",
            "echo 'npm error code ENOTFOUND' >&2\necho 'npm error network request failed' >&2\nexit 1",
        );
        let inst = fake.installer();
        let err = inst
            .install(&project_root(), "1.6.2", &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("installing Restate 1.6.2 failed"), "{err}");
        assert!(err.contains("`npm ci` exited 1"), "{err}");
        assert!(err.contains("ENOTFOUND"), "{err}");
        assert!(err.contains("ci --prefix"), "{err}");
        assert!(
            err.contains("restate/versions/1.6.2/package-lock.json"),
            "{err}"
        );
        assert!(!inst.install_dir("1.6.2").exists());
    }

    #[test]
    fn npm_errors_are_cut_before_the_stack_trace() {
        let stderr = "npm error code ECONNREFUSED\nnpm error syscall connect\nnpm error errno ECONNREFUSED\nnpm error FetchError: request to http://127.0.0.1:9/x failed\nnpm error     at ClientRequest.<anonymous> (index.js:130:14)\nnpm error   port: 9,\nnpm error A complete log of this run can be found in: /tmp/l.log\n";
        assert_eq!(
            npm_summary(stderr, ""),
            "npm error code ECONNREFUSED | npm error syscall connect | npm error errno ECONNREFUSED | npm error FetchError: request to http://127.0.0.1:9/x failed | npm error A complete log of this run can be found in: /tmp/l.log"
        );
        assert_eq!(npm_summary("", "only stdout\n"), "only stdout");
        assert_eq!(npm_summary("", ""), "(no output)");
    }

    #[test]
    fn an_install_that_prints_another_version_is_refused() {
        let fake = Fake::new("wrong", &fake_binaries("1.7.12", "1.7.12"));
        let inst = fake.installer();
        let err = inst
            .install(&project_root(), "1.6.2", &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("reports 1.7.12, not 1.6.2"), "{err}");
        assert!(!inst.install_dir("1.6.2").exists(), "{err}");
        let fake = Fake::new("wrongctl", &fake_binaries("1.6.2", "1.7.10"));
        let err = fake
            .installer()
            .install(&project_root(), "1.6.2", &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("reports 1.7.10, not 1.7.12"), "{err}");
    }

    #[test]
    fn a_missing_npm_or_lockfile_is_a_clear_error() {
        let fake = Fake::new("nonpm", "exit 0");
        let mut inst = fake.installer();
        inst.npm = fake.dir.join("no-such-npm").into();
        let err = inst
            .install(&project_root(), "1.6.2", &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not on PATH"), "{err}");
        assert!(err.contains("apt-get install npm"), "{err}");
        let err = fake
            .installer()
            .install(&fake.dir, "1.6.2", &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("package.json is missing"), "{err}");
        assert!(err.contains("--root"), "{err}");
        let err = fake
            .installer()
            .install(&project_root(), "9.9.9", &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("known: 1.5.3"), "{err}");
        assert_eq!(fake.runs(), 0);
    }
}
