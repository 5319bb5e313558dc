//! Checkpoints of `check --engine timely` with two processes (`--local-processes 2`): a run
//! whose process group is killed with SIGKILL at a pseudo-random moment, resumed (and killed
//! again, and resumed), reports what an uninterrupted run reports (unique and generated
//! states, depth, every verdict and the length of every counterexample); a bounded run leaves a
//! checkpoint that resumes to the same result; a checkpoint of another scenario, process
//! count, worker count or engine, or a damaged one, is refused with exit 2 and a message
//! naming what differs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// With the seeded bug below, 284,275 unique states in 27 levels and two properties broken
/// (counterexamples of 8 and 12 steps): about 3 s with two processes in a test build, long
/// enough for a kill to land in the middle of a run, before or after the discoveries.
const SPEC: &str = "specs/cluster-roles.toml";
const BUG: [&str; 2] = ["--bug", "seal-without-drain"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn sealcheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sealcheck"));
    c.current_dir(root());
    c
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sealcheck-tckpt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `check SPEC --engine timely --local-processes 2 --format json -q` with `extra` flags.
fn timely(spec: &str, extra: &[&str]) -> Command {
    let mut c = sealcheck();
    c.args([
        "check",
        spec,
        "--engine",
        "timely",
        "--local-processes",
        "2",
    ])
    .args(extra)
    .args(["--format", "json", "-q"]);
    c
}

fn json_of(out: &Output, code: i32) -> Value {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What must be equal between two runs: counts, verdicts and the lengths of counterexamples
/// and examples. Not the paths themselves: which of a state's parents on the previous level
/// its link keeps depends on the order in which candidates from other processes arrive, in
/// an uninterrupted run too.
fn essentials(report: &Value) -> Value {
    let properties: Vec<Value> = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p["name"],
                "verdict": p["verdict"],
                "failure": p["failure"],
                "length": p["trail"]["steps"].as_array().map(|s| s.len()),
            })
        })
        .collect();
    serde_json::json!({
        "complete": report["complete"],
        "unique_states": report["unique_states"],
        "states": report["states"],
        "max_depth": report["max_depth"],
        "exit_code": report["exit_code"],
        "properties": properties,
    })
}

/// The uninterrupted run's essentials and exit code (`extra`: overrides).
fn uninterrupted(spec: &str, extra: &[&str]) -> (Value, i32) {
    let out = timely(spec, extra).output().unwrap();
    let code = out.status.code().unwrap();
    (essentials(&json_of(&out, code)), code)
}

/// The levels of which process `p` holds a checkpoint file.
fn levels(dir: &Path, p: usize) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(dir.join(format!("process-{p}"))) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let rest = name.strip_suffix(".ckpt")?;
            rest.split("-level-").nth(1)?.parse().ok()
        })
        .collect()
}

/// A small deterministic generator of kill delays, seeded by `SEALCHECK_KILL_SEED` or the
/// clock (the seed is in every failure message).
struct Delays(u64);

impl Delays {
    fn next(&mut self, max_ms: u64) -> Duration {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        Duration::from_millis((self.0 >> 33) % max_ms)
    }
}

fn seed() -> u64 {
    std::env::var("SEALCHECK_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64
                % 100_000
        })
}

/// Starts `cmd` in a process group of its own (the launcher and the processes it starts).
fn spawn_group(mut cmd: Command) -> Child {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGKILL to every process of `child`'s group; returns once none is left.
fn kill_group(mut child: Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    child.wait().unwrap();
    let started = Instant::now();
    while Command::new("kill")
        .args(["-0", "--", &group])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "group lives on"
        );
        // Whatever is left of the group is dead or dying: SIGKILL again.
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_timely_run_killed_with_sigkill_and_resumed_equals_an_uninterrupted_run() {
    let seed = seed();
    let mut delays = Delays(seed);
    let (expected, code) = uninterrupted(SPEC, &BUG);
    assert_eq!(code, 1);
    let dir = scratch("kill");
    let d = dir.to_str().unwrap();
    let every = ["--checkpoint-every", "0.002"];

    // A first run, killed once both processes hold a checkpoint of the same level.
    let mut first = timely(SPEC, &BUG);
    first.args(["--checkpoint", d]).args(every);
    let child = spawn_group(first);
    let started = Instant::now();
    while !levels(&dir, 0).iter().any(|l| levels(&dir, 1).contains(l)) {
        assert!(started.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(2));
    }
    let wait1 = delays.next(2500);
    std::thread::sleep(wait1);
    kill_group(child);
    let held = (levels(&dir, 0), levels(&dir, 1));

    // Resumed, and killed again at another moment.
    let mut again = timely(SPEC, &BUG);
    again.args(["--resume", d]).args(every);
    let child = spawn_group(again);
    let wait2 = delays.next(2500);
    std::thread::sleep(wait2);
    kill_group(child);

    // Resumed to the end.
    let out = timely(SPEC, &BUG)
        .args(["--resume", d])
        .args(every)
        .output()
        .unwrap();
    let what = format!(
        "killed {} ms after the first checkpoint (levels held: {held:?}) and {} ms into the resumed run; seed {seed} (SEALCHECK_KILL_SEED)",
        wait1.as_millis(),
        wait2.as_millis()
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = json_of(&out, code);
    assert_eq!(essentials(&resumed), expected, "{what}");
    assert!(resumed["engine"].as_str().unwrap().contains("2 processes"));
    // Nothing of an interrupted write is left.
    for p in 0..2 {
        for e in std::fs::read_dir(dir.join(format!("process-{p}"))).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".tmp"), "{name} left; {what}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A checkpoint of crash-restart left by a run of two processes stopped by --max-states.
fn bounded_checkpoint(name: &str) -> PathBuf {
    let dir = scratch(name);
    let out = timely(
        "specs/crash-restart.toml",
        &[
            "--checkpoint",
            dir.to_str().unwrap(),
            "--max-states",
            "3000",
        ],
    )
    .output()
    .unwrap();
    let stopped = json_of(&out, 3);
    assert_eq!(stopped["complete"], false);
    assert!(!levels(&dir, 0).is_empty() && !levels(&dir, 1).is_empty());
    dir
}

fn refused(mut cmd: Command, says: &str) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
    assert!(stderr.contains(says), "{cmd:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bounded_timely_run_leaves_a_checkpoint_that_resumes_to_the_uninterrupted_result() {
    let spec = "specs/crash-restart.toml";
    let (expected, code) = uninterrupted(spec, &[]);
    let dir = bounded_checkpoint("bounded");
    let out = timely(spec, &["--resume", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(essentials(&json_of(&out, code)), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_timely_checkpoint_of_another_scenario_cluster_or_engine_is_refused() {
    let dir = bounded_checkpoint("refused");
    let d = dir.to_str().unwrap();
    refused(
        timely("specs/message-loss.toml", &["--resume", d]),
        "specs/crash-restart.toml",
    );
    refused(
        timely(
            "specs/crash-restart.toml",
            &["--appends", "2", "--resume", d],
        ),
        "`appends`",
    );
    // Another process count, another worker count, one process.
    let mut three = sealcheck();
    three.args(["check", "specs/crash-restart.toml", "--engine", "timely"]);
    three.args(["--local-processes", "3", "--resume", d]);
    refused(three, "2 x 1 (processes x workers), this run 3 x 1");
    refused(
        timely("specs/crash-restart.toml", &["-w", "2", "--resume", d]),
        "this run 2 x 2",
    );
    let mut one = sealcheck();
    one.args(["check", "specs/crash-restart.toml", "--engine", "timely"]);
    one.args(["--resume", d]);
    refused(one, "this run 1 x 1");
    refused(
        timely("specs/crash-restart.toml", &["--symmetry", "--resume", d]),
        "--symmetry",
    );
    // The default engine, and a new run into the same directory.
    let mut default = sealcheck();
    default.args(["check", "specs/crash-restart.toml", "--resume", d]);
    refused(default, "holds a checkpoint of --engine timely");
    refused(
        timely("specs/crash-restart.toml", &["--checkpoint", d]),
        "already holds a checkpoint",
    );
    // A damaged cut: every process refuses to go on.
    let newest = levels(&dir, 1).into_iter().max().unwrap();
    let file = dir.join(format!("process-1/worker-1-level-{newest}.ckpt"));
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&file, &whole[..whole.len() - 9]).unwrap();
    refused(
        timely("specs/crash-restart.toml", &["--resume", d]),
        "not a usable checkpoint",
    );
    let none = scratch("none");
    refused(
        timely(
            "specs/crash-restart.toml",
            &["--resume", none.to_str().unwrap()],
        ),
        "no checkpoint of --engine timely to resume",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
