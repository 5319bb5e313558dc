//! Reading input files safely: FIFOs, devices, oversized and unreadable files, symlink loops,
//! closed output pipes, line-length caps, strict node ids and exact field names in errors.
//!
//! Every command here runs with a timeout: the failures these tests guard against are hangs
//! (a FIFO blocks, `/dev/zero` never ends, a symlink loop is walked exponentially).

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use sealcheck::trace_reader::{TraceError, TraceItem, TraceReader, MAX_LINE};

const TIMEOUT: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn sealcheck() -> Command {
    let mut c = Command::cargo_bin("sealcheck").unwrap();
    c.current_dir(root()).timeout(TIMEOUT);
    c
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("input-files-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mkfifo(path: &Path) {
    let st = StdCommand::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

/// Runs and returns (exit code, stdout, stderr); a timeout fails the test.
fn run(c: &mut Command) -> (Option<i32>, String, String) {
    let out: Output = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const BUG: &str = "looks like a bug";

/// Exit 2, the file named in the output, the given words in it, and no "bug" message.
fn assert_input_error(
    (code, stdout, stderr): (Option<i32>, String, String),
    file: &str,
    words: &str,
) {
    let all = format!("{stdout}{stderr}");
    assert_eq!(code, Some(2), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(all.contains(file), "{file} not named:\n{all}");
    assert!(all.contains(words), "`{words}` not said:\n{all}");
    assert!(!all.contains(BUG), "{all}");
}

const NOT_REGULAR: &str = "not a regular file";

#[test]
fn a_fifo_as_a_trace_is_refused_without_blocking() {
    let d = scratch("fifo-trace");
    let f = d.join("t.jsonl");
    mkfifo(&f);
    assert_input_error(
        run(sealcheck().arg("validate").arg(&f)),
        "t.jsonl",
        NOT_REGULAR,
    );
}

#[test]
fn a_fifo_inside_a_traces_directory_is_refused_without_blocking() {
    let d = scratch("fifo-in-dir");
    mkfifo(&d.join("pipe.jsonl"));
    std::fs::copy(
        root().join("traces/valid/wait-provisioned-full.jsonl"),
        d.join("ok.jsonl"),
    )
    .unwrap();
    let r = run(sealcheck().arg("validate").arg(&d));
    assert!(r.1.contains("conforms"), "{}", r.1);
    assert_input_error(r, "pipe.jsonl", NOT_REGULAR);
}

#[test]
fn a_fifo_as_a_spec_or_from_trace_is_refused_without_blocking() {
    let d = scratch("fifo-spec");
    let f = d.join("s.toml");
    mkfifo(&f);
    assert_input_error(run(sealcheck().arg("check").arg(&f)), "s.toml", NOT_REGULAR);
    assert_input_error(
        run(sealcheck().args(["check", "--from-trace"]).arg(&f)),
        "s.toml",
        NOT_REGULAR,
    );
}

#[test]
fn a_device_as_a_spec_or_trace_is_refused_at_once() {
    assert_input_error(
        run(sealcheck().args(["check", "/dev/zero"])),
        "/dev/zero",
        NOT_REGULAR,
    );
    assert_input_error(
        run(sealcheck().args(["validate", "/dev/zero"])),
        "/dev/zero",
        NOT_REGULAR,
    );
}

#[test]
fn an_oversized_spec_is_refused_without_reading_it() {
    let d = scratch("big-spec");
    let f = d.join("big.toml");
    // Sparse: no disk space, but its size is past the cap.
    let file = std::fs::File::create(&f).unwrap();
    file.set_len(sealcheck::input::MAX_SPEC_BYTES + 1).unwrap();
    assert_input_error(
        run(sealcheck().arg("check").arg(&f)),
        "big.toml",
        "larger than",
    );
}

/// A copy of a recorded run's raw directory to break.
fn raw_copy(name: &str) -> PathBuf {
    let d = scratch(name);
    let src = root().join("traces/restate-1.7.12/incident/raw");
    std::fs::create_dir_all(d.join("logs")).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
    }
    for e in std::fs::read_dir(src.join("logs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.join("logs").join(e.file_name())).unwrap();
    }
    d
}

#[test]
fn import_refuses_a_raw_file_that_is_a_device_or_a_fifo() {
    let d = raw_copy("raw-dev-zero");
    std::fs::remove_file(d.join("sql.jsonl")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("sql.jsonl")).unwrap();
    assert_input_error(
        run(sealcheck().arg("import").arg(&d)),
        "sql.jsonl",
        NOT_REGULAR,
    );

    let d = raw_copy("raw-fifo-log");
    std::fs::remove_file(d.join("logs/n1.log")).unwrap();
    mkfifo(&d.join("logs/n1.log"));
    assert_input_error(
        run(sealcheck().arg("import").arg(&d)),
        "n1.log",
        NOT_REGULAR,
    );
}

#[test]
fn import_refuses_an_oversized_raw_file_without_reading_it() {
    let d = raw_copy("raw-big");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("actions.jsonl"))
        .unwrap();
    f.set_len(sealcheck_recorder::raw::MAX_RAW_FILE_BYTES + 1)
        .unwrap();
    assert_input_error(
        run(sealcheck().arg("import").arg(&d)),
        "actions.jsonl",
        "larger than",
    );
}

#[test]
fn symlink_loops_in_a_traces_directory_are_not_followed() {
    let d = scratch("symlink-loop");
    std::fs::copy(
        root().join("traces/valid/wait-provisioned-full.jsonl"),
        d.join("ok.jsonl"),
    )
    .unwrap();
    // Two links back to the directory itself: following them walks 2^40 paths.
    std::os::unix::fs::symlink(".", d.join("a")).unwrap();
    std::os::unix::fs::symlink("..", d.join("b")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", d.join("sub/up")).unwrap();
    let (code, stdout, stderr) = run(sealcheck().arg("validate").arg(&d));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("\n1 trace: 1 conform"), "{stdout}");
}

#[test]
fn a_symlink_to_a_trace_file_is_followed() {
    let d = scratch("symlink-file");
    std::os::unix::fs::symlink(
        root().join("traces/valid/wait-provisioned-full.jsonl"),
        d.join("linked.jsonl"),
    )
    .unwrap();
    let (code, stdout, stderr) = run(sealcheck().arg("validate").arg(&d));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("linked.jsonl"), "{stdout}");
}

#[test]
fn a_missing_trace_path_is_cannot_read_not_malformed() {
    let r = run(sealcheck().args(["validate", "nosuchdir"]));
    assert!(!r.1.contains("MALFORMED"), "{}", r.1);
    assert_input_error(r, "nosuchdir", "cannot read");
}

/// Runs `sealcheck ARGS` as an unprivileged process: as root, with every capability dropped,
/// so that permissions apply (root reads a mode-000 directory otherwise).
fn unprivileged(args: &[&std::ffi::OsStr]) -> Command {
    let bin = assert_cmd::cargo::cargo_bin("sealcheck");
    let is_root = StdCommand::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut c = if is_root {
        let mut c = Command::new("setpriv");
        c.args(["--inh-caps=-all", "--bounding-set=-all", "--"])
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    c.args(args).current_dir(root()).timeout(TIMEOUT);
    c
}

#[test]
fn an_unreadable_subdirectory_is_named_and_the_rest_validated() {
    use std::os::unix::fs::PermissionsExt;
    let d = scratch("unreadable-subdir");
    std::fs::copy(
        root().join("traces/valid/wait-provisioned-full.jsonl"),
        d.join("ok.jsonl"),
    )
    .unwrap();
    let locked = d.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = run(&mut unprivileged(&["validate".as_ref(), d.as_os_str()]));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(r.1.contains("conforms"), "{}{}", r.1, r.2);
    assert_input_error(r, "locked", "cannot read");
}

/// Starts `sealcheck ARGS` with its stdout a pipe whose reading end is already closed (as with
/// `sealcheck ... | head -c 1` once head has exited).
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("sealcheck"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A reader that goes away (`sealcheck reproduce --controls | head -1`) ends a command quietly:
/// no panic, no error message. The exit code is 0, or the command's own code when it finished
/// writing before the pipe closed (`replay` of a counterexample exits 1).
#[test]
fn a_closed_output_pipe_ends_quietly() {
    for (args, own) in [
        (&["check", "-q"][..], 0),
        (
            &["import", "traces/restate-1.7.12/incident/raw", "-q"][..],
            0,
        ),
        (&["validate", "traces/valid"][..], 0),
        (&["reproduce", "--controls"][..], 0),
        (&["reproduce", "--path", "0/3/0/0/0", "--dry-run"][..], 0),
        (&["record", "--list"][..], 0),
        (&["check", "specs/bench-five-servers.toml", "-q"][..], 0),
        (&["replay", "--path", "0/3/0/0/0"][..], 1),
    ] {
        let (code, stderr) = with_closed_stdout(args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains(BUG), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        assert!(
            code == Some(0) || code == Some(own),
            "{args:?}: {code:?} {stderr}"
        );
    }
}

#[test]
fn simulate_out_pointing_at_a_file_is_a_usage_error() {
    let d = scratch("simulate-out-file");
    let f = d.join("afile");
    std::fs::write(&f, "x").unwrap();
    assert_input_error(
        run(sealcheck()
            .args(["simulate", "--traces", "1", "--out"])
            .arg(&f)),
        "afile",
        "not a directory",
    );
}

const HEADER: &str = r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2,"appends":2}}"#;

fn read(text: &[u8]) -> Result<Vec<TraceItem>, TraceError> {
    let r = TraceReader::from_reader("t.jsonl", Box::new(std::io::Cursor::new(text.to_vec())))?;
    r.collect()
}

/// A valid event line padded with spaces to exactly `len` bytes.
fn padded_line(len: usize) -> Vec<u8> {
    let mut l = br#"{"event":"provisioned","node":"N1"}"#.to_vec();
    l.resize(len, b' ');
    l
}

#[test]
fn the_line_cap_applies_to_the_content_whatever_the_line_ending() {
    for ending in [&b"\n"[..], &b"\r\n"[..], &b""[..]] {
        let mut ok = format!("{HEADER}\n").into_bytes();
        ok.extend(padded_line(MAX_LINE));
        ok.extend(ending);
        let items = read(&ok).unwrap_or_else(|e| panic!("{ending:?}: {e}"));
        assert_eq!(items.len(), 1, "{ending:?}");

        let mut long = format!("{HEADER}\n").into_bytes();
        long.extend(padded_line(MAX_LINE + 1));
        long.extend(ending);
        let e = read(&long).unwrap_err();
        assert_eq!(e.line, 2, "{ending:?}");
        assert!(e.message.contains("longer than"), "{ending:?}: {e}");
    }
}

#[test]
fn node_ids_are_parsed_strictly() {
    for bad in [
        "N1:garbage",
        "N1:1",
        "1",
        "N",
        "N+1",
        "N01",
        " N1",
        "n1",
        "N1x",
    ] {
        let text = format!("{HEADER}\n{{\"event\":\"provisioned\",\"node\":\"{bad}\"}}\n");
        let e = read(text.as_bytes()).expect_err(bad);
        assert_eq!((e.line, e.field.as_str()), (2, "node"), "{bad}: {e}");
        assert!(e.message.contains(bad), "{bad}: {e}");
        let text = format!(
            "{HEADER}\n{{\"event\":\"seal-confirmed\",\"node\":\"N5\",\"peer\":\"{bad}\"}}\n"
        );
        let e = read(text.as_bytes()).expect_err(bad);
        assert_eq!((e.line, e.field.as_str()), (2, "peer"), "{bad}: {e}");
    }
    for good in ["\"N1\"", "1"] {
        let text = format!("{HEADER}\n{{\"event\":\"provisioned\",\"node\":{good}}}\n");
        read(text.as_bytes()).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn header_errors_name_the_exact_field() {
    let cases = [
        (
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":"three","nodeset":[1,2,3],"replication":2}}"#,
            "config.log_servers",
        ),
        (
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2,"harness":{"kind":"seal-once","max_attempts":"x"}}}"#,
            "config.harness.max_attempts",
        ),
        (
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3]}}"#,
            "config.replication",
        ),
        (
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2,"faults":{"crash":1}}}"#,
            "config.faults.crash",
        ),
        (
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2},"flavour":1}"#,
            "flavour",
        ),
        (
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2},"roles":{"sealer":"N1:garbage"}}"#,
            "roles.sealer",
        ),
        (
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2},"roles":{"sequencer":0}}"#,
            "roles.sequencer",
        ),
        (
            r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2},"run_complete":"yes"}"#,
            "run_complete",
        ),
    ];
    for (header, field) in cases {
        let e = read(format!("{header}\n").as_bytes()).expect_err(field);
        assert_eq!((e.line, e.field.as_str()), (1, field), "{e}");
    }
}

#[test]
fn scenario_client_zero_and_duplicate_forced_provisioning_are_refused() {
    let e = sealcheck::spec::parse(
        "s.toml",
        "log_servers = 3\nnodeset = [1,2,3]\nreplication = 2\nclient = 0\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("s.toml:4: field `client`:"), "{e}");
    let e = sealcheck::spec::parse(
        "s.toml",
        "log_servers = 3\nnodeset = [1,2,3]\nreplication = 2\nforced_provisioning = [2, 2]\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "s.toml:4: field `forced_provisioning`: N2 is listed twice"
    );
}

/// Issue #17: a loglet of a million records. Offsets and tails past the old 64-record limit
/// read as they are, and one past the bound is refused naming its field.
#[test]
fn offsets_and_tails_of_a_million_records_read() {
    let header = r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2,"appends":1000000}}"#;
    let text = format!(
        "{header}\n\
         {{\"event\":\"append\",\"node\":\"N5\",\"offset\":999999}}\n\
         {{\"event\":\"observe-log-server\",\"node\":\"N1\",\"local_tail\":1000000,\"sealed\":false}}\n\
         {{\"event\":\"seal-completed\",\"node\":\"N5\",\"max_local_tail\":1000000}}\n"
    );
    let items = read(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(items.len(), 3);
    let beyond = format!(
        "{header}\n{{\"event\":\"observe-log-server\",\"node\":\"N1\",\"local_tail\":1000001}}\n"
    );
    let e = read(beyond.as_bytes()).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (2, "local_tail"), "{e}");
    assert!(e.message.contains("does not fit"), "{e}");
}
