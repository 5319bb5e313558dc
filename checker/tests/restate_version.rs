//! `--restate-version V` of `record`, `reproduce` and `campaign`: unknown versions and
//! conflicting flags are usage errors, and the install goes into the cache the environment
//! names. No test here needs the network or root: every install is refused or fails before
//! anything is downloaded (no npm on PATH, or a stand-in npm that fails).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn sealcheck() -> Command {
    let mut c = Command::cargo_bin("sealcheck").unwrap();
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c
}

/// Runs `c`, checks its exit code, returns its stderr.
fn stderr_of(c: &mut Command, code: i32) -> String {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// A scratch directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "sealcheck-restate-version-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn an_unknown_version_is_a_usage_error_naming_the_known_ones() {
    for cmd in [
        &["record", "incident", "--out", "/nonexistent/out"][..],
        &["reproduce", "--dry-run"][..],
        &["campaign", "--dry-run"][..],
    ] {
        let err = stderr_of(
            sealcheck().args(cmd).args(["--restate-version", "9.9.9"]),
            2,
        );
        assert!(err.contains("no Restate version `9.9.9`"), "{cmd:?}: {err}");
        assert!(
            err.contains("known: 1.5.3, 1.6.1, 1.6.2, 1.7.2"),
            "{cmd:?}: {err}"
        );
        assert!(err.contains("1.7.10, 1.7.12"), "{cmd:?}: {err}");
    }
}

#[test]
fn the_version_conflicts_with_explicit_binaries() {
    for flag in ["--server", "--restatectl"] {
        for cmd in [
            &["record", "incident", "--out", "/nonexistent/out"][..],
            &["reproduce", "--dry-run"][..],
            &["campaign", "--dry-run"][..],
        ] {
            let err = stderr_of(
                sealcheck()
                    .args(cmd)
                    .args(["--restate-version", "1.6.2", flag, "/bin/true"]),
                2,
            );
            assert!(
                err.contains("'--restate-version <V>' cannot be used with"),
                "{cmd:?} {flag}: {err}"
            );
        }
    }
}

/// `record --restate-version 1.6.2` with `env` and PATH = `path`: exit 2, its stderr.
fn record_1_6_2(env: &[(&str, &Path)], path: &Path) -> String {
    let mut c = sealcheck();
    c.args([
        "record",
        "incident",
        "--out",
        "/nonexistent/out",
        "--restate-version",
        "1.6.2",
    ])
    .env_remove("SEALCHECK_CACHE")
    .env_remove("XDG_CACHE_HOME")
    .env("PATH", path);
    for (k, v) in env {
        c.env(k, v);
    }
    stderr_of(&mut c, 2)
}

#[test]
fn the_install_goes_into_the_cache_the_environment_names() {
    let scratch = Scratch::new("cache");
    let empty = scratch.0.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();

    // SEALCHECK_CACHE, with no npm on PATH: nothing is installed, the error says why and
    // names the install directory in the command to run by hand.
    let cache = scratch.0.join("sc");
    let err = record_1_6_2(&[("SEALCHECK_CACHE", &cache)], &empty);
    assert!(err.contains("installing Restate 1.6.2 failed"), "{err}");
    assert!(err.contains("npm is not on PATH"), "{err}");
    let dir = cache.join("restate/1.6.2");
    assert!(
        err.contains(&format!("npm ci --prefix {}", dir.display())),
        "{err}"
    );
    assert!(
        err.contains("restate/versions/1.6.2/package-lock.json"),
        "{err}"
    );

    // XDG_CACHE_HOME when SEALCHECK_CACHE is unset, and SEALCHECK_CACHE over it.
    let xdg = scratch.0.join("xdg");
    let err = record_1_6_2(&[("XDG_CACHE_HOME", &xdg)], &empty);
    assert!(
        err.contains(&format!(
            "{}",
            xdg.join("sealcheck/restate/1.6.2").display()
        )),
        "{err}"
    );
    let err = record_1_6_2(
        &[("XDG_CACHE_HOME", &xdg), ("SEALCHECK_CACHE", &cache)],
        &empty,
    );
    assert!(err.contains(&format!("{}", dir.display())), "{err}");
    assert!(!err.contains(&format!("{}", xdg.display())), "{err}");

    // An npm that fails (as it does without network): its error, the command to run by
    // hand, and no install directory left behind.
    let bin = scratch.0.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let npm = bin.join("npm");
    std::fs::write(
        &npm,
        "#!/bin/sh\necho 'npm error code ENOTFOUND' >&2\necho 'npm error request to https://registry.npmjs.org/ failed' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = record_1_6_2(&[("SEALCHECK_CACHE", &cache)], &bin);
    assert!(
        err.contains("installing Restate 1.6.2 (restatectl 1.7.12) into"),
        "{err}"
    );
    assert!(
        err.contains("`npm ci` exited 1: npm error code ENOTFOUND"),
        "{err}"
    );
    assert!(err.contains("to do it by hand: run `mkdir -p"), "{err}");
    assert!(!dir.exists());
    let left: Vec<_> = std::fs::read_dir(cache.join("restate"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
