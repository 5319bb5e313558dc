//! Black-box tests of the `sealcheck` binary: exit codes, error messages, and snapshots of the
//! human and JSON reports.

use assert_cmd::Command;

fn sealcheck() -> Command {
    let mut c = Command::cargo_bin("sealcheck").unwrap();
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c
}

fn stdout_of(c: &mut Command, code: i32) -> String {
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn stderr_of(c: &mut Command, code: i32) -> String {
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(code));
    String::from_utf8(out.stderr).unwrap()
}

fn redact_timing(s: &str) -> String {
    let re_time = |line: &str| -> String {
        match (line.find(") in "), line.find(" s with ")) {
            (Some(a), Some(b)) if a < b => format!("{}) in <secs>{}", &line[..a], &line[b + 2..]),
            _ => line.to_string(),
        }
    };
    s.lines().map(re_time).collect::<Vec<_>>().join("\n")
}

#[test]
fn check_without_arguments_reproduces_the_incident_and_exits_1() {
    let out = stdout_of(sealcheck().arg("check").arg("-q"), 1);
    insta::assert_snapshot!("check_incident_text", redact_timing(&out));
}

#[test]
fn check_of_the_fix_exits_0() {
    let out = stdout_of(
        sealcheck().args(["check", "specs/wait-provisioned.toml", "-q"]),
        0,
    );
    assert!(out.contains("result: every property holds on a complete exploration (exit 0)"));
    assert!(out.contains("unreachable, as the scenario says"));
}

#[test]
fn json_report_of_the_incident() {
    let out = stdout_of(sealcheck().args(["check", "-q", "--format", "json"]), 1);
    let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["complete"], true);
    assert_eq!(v["unique_states"], 530);
    v["elapsed_ms"] = serde_json::json!(0);
    insta::assert_json_snapshot!("check_incident_json", v);
}

#[test]
fn harness_override_is_repeated_in_the_replay_command() {
    let out = stdout_of(
        sealcheck().args([
            "check",
            // A sealer that was running all along: the test's joining client holds here.
            "specs/running-sealer.toml",
            "--harness",
            "wait-provisioned",
            "--stale-views",
            "-q",
        ]),
        1,
    );
    let replay = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay:  "))
        .unwrap()
        .to_string();
    assert_eq!(
        replay,
        "sealcheck replay specs/running-sealer.toml --harness wait-provisioned --stale-views=true --path 0/0/0/0/1/0"
    );
    // The printed command reproduces the counterexample.
    let args: Vec<&str> = replay.split_whitespace().skip(1).collect();
    let again = stdout_of(sealcheck().args(&args), 1);
    assert!(again.contains("a seal the harness starts eventually succeeds: violated"));
    assert!(again.contains("ends in a terminal state"));
}

#[test]
fn replay_of_a_prefix_is_not_a_violation() {
    let out = stdout_of(sealcheck().args(["replay", "--path", "0/3"]), 0);
    assert!(
        out.contains("a seal is rejected because all members look Provisioning: reached at step 1")
    );
    assert!(out.contains("not yet satisfied (the path is not complete)"));
}

#[test]
fn bad_path_is_a_usage_error() {
    let err = stderr_of(sealcheck().args(["replay", "--path", "0/77"]), 2);
    assert!(
        err.contains("step 1 of the path names action 77, but only 4 are possible there"),
        "{err}"
    );
    let err = stderr_of(sealcheck().args(["replay", "--path", "zero"]), 2);
    assert!(err.contains("is not a path"), "{err}");
}

#[test]
fn unknown_spec_field_names_file_line_and_field() {
    let dir = tempdir();
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        "log_servers = 3\nnodeset = [1, 2, 3]\nreplication = 2\nreplicaton = 3\n",
    )
    .unwrap();
    let err = stderr_of(sealcheck().arg("check").arg(&f), 2);
    assert!(
        err.contains(&format!(
            "{}:4: field `replicaton`: unknown field",
            f.display()
        )),
        "{err}"
    );
}

#[test]
fn missing_spec_file_is_a_usage_error() {
    let err = stderr_of(sealcheck().args(["check", "specs/nope.toml"]), 2);
    assert!(
        err.contains("specs/nope.toml: cannot read the scenario file"),
        "{err}"
    );
}

#[test]
fn option_errors_exit_2() {
    let err = stderr_of(sealcheck().args(["check", "--symmetry"]), 2);
    assert!(err.contains("--symmetry needs --strategy dfs"), "{err}");
    let err = stderr_of(sealcheck().args(["check", "--strategy", "simulation"]), 2);
    assert!(err.contains("give --max-states or --timeout"), "{err}");
    let err = stderr_of(sealcheck().args(["check", "--timeout", "0"]), 2);
    assert!(err.contains("--timeout must be a positive number"), "{err}");
    let err = stderr_of(sealcheck().args(["check", "--harness", "sometimes"]), 2);
    assert!(err.contains("invalid value 'sometimes'"), "{err}");
    let err = stderr_of(
        sealcheck().args(["check", "--max-attempts", "0", "--harness", "retry"]),
        2,
    );
    assert!(err.contains("harness.max_attempts"), "{err}");
}

#[test]
fn flag_values_out_of_range_are_usage_errors() {
    for (args, message) in [
        (
            &["--timeout", "1e20"][..],
            "--timeout must be a positive number",
        ),
        (
            &["--timeout", "inf"][..],
            "--timeout must be a positive number",
        ),
        (
            &["--threads", "100000"][..],
            "--threads must be a whole number from 1 to 256",
        ),
        (
            &["--threads", "0"][..],
            "--threads must be a whole number from 1 to 256",
        ),
        (&["--max-states", "0"][..], "at least 1"),
        (&["--max-depth", "0"][..], "at least 1"),
        (
            &["--max-memory", "1K"][..],
            "--max-memory must be at least 16M",
        ),
        (&["--max-memory", "lots"][..], "is not a size"),
    ] {
        let err = stderr_of(sealcheck().arg("check").args(args), 2);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// `validate`'s bounds follow `check`'s rules (crate::limits): `--timeout 1e20` used to panic
/// (exit 101), `--threads 0` and 2,000 and `--max-memory 0` or 1 used to be accepted.
#[test]
fn validate_bounds_out_of_range_are_usage_errors() {
    let trace = "traces/valid/appends-then-seal-observed.jsonl";
    for (args, message) in [
        (
            &["--timeout", "1e20"][..],
            "--timeout must be a positive number",
        ),
        (
            &["--timeout", "0"][..],
            "--timeout must be a positive number",
        ),
        (
            &["--threads", "0"][..],
            "--threads must be a whole number from 1 to 256",
        ),
        (
            &["--threads", "2000"][..],
            "--threads must be a whole number from 1 to 256",
        ),
        (
            &["--max-memory", "0"][..],
            "--max-memory must be at least 16M",
        ),
        (
            &["--max-memory", "1"][..],
            "--max-memory must be at least 16M",
        ),
    ] {
        let err = stderr_of(sealcheck().arg("validate").args(args).arg(trace), 2);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    stdout_of(
        sealcheck().args([
            "validate",
            "--threads",
            "1",
            "--max-memory",
            "64",
            "--timeout",
            "60",
            trace,
        ]),
        0,
    );
}

#[test]
fn stale_views_without_a_value_leaves_the_spec_alone() {
    let out = stdout_of(
        sealcheck().args([
            "check",
            "--stale-views",
            "specs/wait-provisioned.toml",
            "-q",
        ]),
        0,
    );
    // Fix 2 holds for the test's client, which joins with a current view, stale views or not.
    assert!(out.starts_with("sealcheck check: wait-provisioned (specs/wait-provisioned.toml)"));
    assert!(out.contains("stale views on"), "{out}");
}

#[test]
fn simulation_says_what_its_state_count_counts() {
    let out = stdout_of(
        sealcheck().args([
            "check",
            "--strategy",
            "simulation",
            "--max-states",
            "2000",
            "-q",
        ]),
        1,
    );
    assert!(
        out.contains("states along random walks (a state counts once per walk that visits it; distinct states are not tracked)"),
        "{out}"
    );
    assert!(!out.contains("unique states"), "{out}");
}

#[test]
fn a_simulation_with_a_timeout_ends() {
    let out = stdout_of(
        sealcheck()
            .args(["check", "--strategy", "simulation", "--timeout", "1", "-q"])
            .timeout(std::time::Duration::from_secs(60)),
        1,
    );
    assert!(out.contains("INCOMPLETE: stopped by the timeout"), "{out}");
}

#[test]
fn ctrl_c_prints_the_incomplete_summary() {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sealcheck"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "check",
            "specs/bench-four-servers.toml",
            "--timeout",
            "60",
            "-q",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("INCOMPLETE: interrupted by Ctrl-C"),
        "{stdout}"
    );
    assert!(stdout.contains("result: INCOMPLETE run"), "{stdout}");
}

#[test]
fn counts_are_pluralised() {
    let out = stdout_of(sealcheck().args(["replay", "--path", "0/3"]), 0);
    assert!(out.contains(", path 0/3 (1 step)"), "{out}");
    let err = stderr_of(sealcheck().args(["replay", "--path", "0/3/0/0/9"]), 2);
    assert!(
        err.contains("step 4 of the path names action 9, but only 1 is possible there"),
        "{err}"
    );
    let out = stdout_of(sealcheck().args(["check", "-q"]), 1);
    assert!(
        out.contains(", 0 appends, ") && out.contains(", 1 thread: "),
        "{out}"
    );
}

#[test]
fn bounded_run_exits_3_and_says_so() {
    let out = stdout_of(sealcheck().args(["check", "--max-depth", "2", "-q"]), 3);
    assert!(out.contains("INCOMPLETE: stopped at the depth bound 2"));
    assert!(!out.contains("holds"));
}

#[test]
fn help_teaches_exit_codes_and_scenarios() {
    let out = stdout_of(sealcheck().args(["check", "--help"]), 0);
    assert!(out.contains("built-in incident scenario"));
    let out = stdout_of(sealcheck().arg("--help"), 0);
    assert!(out.contains("Exit codes"));
}

#[test]
fn properties_lists_names_and_clauses() {
    let out = stdout_of(sealcheck().args(["properties"]), 0);
    insta::assert_snapshot!("properties_incident", out);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sealcheck-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The unique-state count `sealcheck ARGS --format json` reports.
fn unique_states_of(args: &[&str]) -> u64 {
    let out = sealcheck()
        .args(args)
        .args(["--format", "json", "--quiet"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: no JSON report ({e})"));
    json["unique_states"]
        .as_u64()
        .unwrap_or_else(|| panic!("{args:?}: no unique_states in {json}"))
}

/// A number as the README writes it (`38,336`), if `text` is one.
fn readme_number(text: &str) -> Option<u64> {
    let t = text.trim().trim_matches('*').replace(',', "");
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().unwrap())
}

/// The README's abbreviations of scenario files: "`T` stands for `specs/x.toml`, `R` for
/// `specs/y.toml`".
fn readme_abbreviations(readme: &str) -> Vec<(String, String)> {
    // The sentence may be wrapped: compare with single spaces.
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let readme = flat.as_str();
    let mut found = Vec::new();
    let mut rest = readme;
    while let Some(i) = rest.find("` for `specs/") {
        let before = &rest[..i];
        let name = &before[before.rfind('`').map_or(0, |j| j + 1)..];
        let after = &rest[i + "` for `".len()..];
        let path = &after[..after.find('`').unwrap_or(0)];
        if !name.is_empty() && !name.contains(char::is_whitespace) {
            found.push((name.to_string(), path.to_string()));
        }
        rest = after;
    }
    let mut rest = readme;
    while let Some(i) = rest.find("` stands for `specs/") {
        let before = &rest[..i];
        let name = &before[before.rfind('`').map_or(0, |j| j + 1)..];
        let after = &rest[i + "` stands for `".len()..];
        let path = &after[..after.find('`').unwrap_or(0)];
        found.push((name.to_string(), path.to_string()));
        rest = after;
    }
    found
}

/// Every table row of the README that names a `sealcheck check ...` command and a count
/// column: the command's arguments after `sealcheck` (abbreviations expanded) and the count.
fn readme_check_rows(readme: &str) -> Vec<(Vec<String>, u64)> {
    let abbreviations = readme_abbreviations(readme);
    let mut rows = Vec::new();
    for line in readme.lines().filter(|l| l.trim_start().starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(at) = cells
            .iter()
            .position(|c| c.starts_with("`sealcheck check") && c.ends_with('`'))
        else {
            continue;
        };
        let Some(count) = cells[at + 1..].iter().find_map(|c| readme_number(c)) else {
            continue;
        };
        let command = cells[at].trim_matches('`');
        let args: Vec<String> = command
            .split_whitespace()
            .skip(1)
            .map(|a| {
                abbreviations
                    .iter()
                    .find(|(name, _)| name == a)
                    .map_or(a.to_string(), |(_, path)| path.clone())
            })
            .collect();
        rows.push((args, count));
    }
    rows
}

/// The README's incident table: every `sealcheck check ...` row's unique-state count is the
/// binary's.
#[test]
fn readme_state_counts_are_the_binarys() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let rows = readme_check_rows(&readme);
    assert!(
        rows.len() >= 3,
        "the README's table of `sealcheck check` rows was not found: {rows:?}"
    );
    for (args, count) in rows {
        let command: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(
            unique_states_of(&command),
            count,
            "README: `sealcheck {}`",
            command.join(" ")
        );
    }
}

/// The built-in scenario's count (`sealcheck check` with no argument) wherever the README
/// gives it: "N-state incident" (or "N-state built-in") and "`sealcheck check` with no file
/// ... (N unique states".
#[test]
fn readme_built_in_state_count_is_the_binarys() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let mut mentions = Vec::new();
    for marker in ["-state incident", "-state built-in"] {
        for (i, _) in readme.match_indices(marker) {
            let before = &readme[..i];
            let start = before
                .rfind(|c: char| !(c.is_ascii_digit() || c == ','))
                .map_or(0, |j| j + 1);
            if let Some(n) = readme_number(&before[start..]) {
                mentions.push((format!("{}{marker}", &before[start..]), n));
            }
        }
    }
    if let Some(i) = readme.find("`sealcheck check` with no file") {
        let after = &readme[i..(i + 400).min(readme.len())];
        if let Some(j) = after.find(" unique states") {
            let before = &after[..j];
            let start = before
                .rfind(|c: char| !(c.is_ascii_digit() || c == ','))
                .map_or(0, |k| k + 1);
            if let Some(n) = readme_number(&before[start..]) {
                mentions.push((format!("`sealcheck check` with no file: {n}"), n));
            }
        }
    }
    let built_in = unique_states_of(&["check"]);
    for (text, n) in mentions {
        assert_eq!(n, built_in, "README says \"{text}\"");
    }
}

/// `follow --close-after` takes seconds from 0 (never close) to a day; anything else is a
/// usage error naming the flag's value, not a panic.
#[test]
fn follow_close_after_out_of_range_is_a_usage_error() {
    for bad in [
        "--close-after=-1",
        "--close-after=1e9",
        "--close-after=soon",
    ] {
        let err = stderr_of(
            sealcheck()
                .args(["follow", "traces/restate-1.7.12/incident/raw"])
                .arg(bad),
            2,
        );
        assert!(
            err.contains("is not a number of seconds between 0 and 86400"),
            "{bad}: {err}"
        );
        assert!(!err.contains("panicked"), "{bad}: {err}");
    }
}
