//! `sealcheck explore`: stateright's Explorer for a scenario, behind a small validating front.
//!
//! stateright 0.31's `CheckerBuilder::serve` runs an on-demand checker and a `tiny_http` server
//! that never returns. Measured against it (see `tests/explore_server.rs`): a malformed or
//! out-of-range `/.states/...` path gets a plain-text 404 (`/.statesX` even gets the initial
//! states), a port that is taken makes it panic, and property status stays empty until someone
//! POSTs `/.runtocompletion`. It does not crash on bad paths, but its answers are not the clear
//! errors a user needs, and it cannot be stopped or told where to listen safely.
//!
//! So `explore` puts its own front, on `std::net`, in front of it:
//!
//! ```text
//! browser ──> front (the --addr address, loopback unless --allow-non-loopback)
//!               │  validates every request: /.states/<path> is parsed and replayed against
//!               │  the model (shortest::parse_path / decode) before anything is forwarded;
//!               │  bad paths get 400/404 with a JSON error, unknown pages 404, wrong methods 405
//!               └──> stateright's Explorer (a 127.0.0.1 port the front picked, never exposed)
//! ```
//!
//! Before serving, a bounded breadth-first check measures the scenario. Below
//! `--run-to-completion-below` states the front asks the Explorer to run to completion at once,
//! so the page shows every property's status from the first load; above it, the command prints
//! how to ask for it. `--path` (as `check` prints it) and `--property` (the shortest
//! counterexample or example, from [`crate::shortest`]) choose the page the printed link opens.

mod proxy;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use sealcheck_model::{PropertyInfo, PropertyKind, SealModel};
use stateright::Model;

pub use proxy::{
    backend_request, parse_request_head, Backend, BackendReply, Front, HttpError, Reply,
    RequestHead, Route,
};

use crate::cli::ScenarioArgs;
use crate::commands::{load_scenario, UsageError};
use crate::engine::{self, CheckOptions, CheckReport};
use crate::report::{self, DEFAULT_EXPLORER_ADDR};
use crate::shortest::{self, Target};
use crate::spec::Spec;

/// Default of `--run-to-completion-below`: scenarios whose full breadth-first check generates
/// fewer states than this are run to completion as soon as the Explorer starts.
pub const DEFAULT_RUN_TO_COMPLETION_BELOW: usize = 2_000_000;

/// Unique states the shortest-path search for `--property` may visit.
pub const PROPERTY_SEARCH_BUDGET: usize = 20_000_000;

/// Name of the thread that runs stateright's Explorer.
const BACKEND_THREAD: &str = "sealcheck-explorer-backend";

/// Arguments of `explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// The scenario.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Address to serve the Explorer on, IP:PORT (`localhost:PORT` means 127.0.0.1:PORT; port 0
    /// picks a free port). Only loopback addresses unless --allow-non-loopback.
    #[arg(long, default_value = DEFAULT_EXPLORER_ADDR, value_name = "IP:PORT")]
    pub addr: String,
    /// Accept a non-loopback --addr (such as 0.0.0.0:3000). This exposes the Explorer to the
    /// network: anyone who can reach the address sees the model and every state, and can start
    /// a full run of the checker on this machine; there is no authentication.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Open the Explorer at this path (init-state index, then action indices, as `check` and
    /// `replay` print it, e.g. 0/3/0/0/0). Checked against the scenario before serving.
    #[arg(long, conflicts_with = "property")]
    pub path: Option<String>,
    /// Open the Explorer at the shortest counterexample (always, eventually) or example
    /// (sometimes) of this property: its full name as `sealcheck properties` lists it, or a
    /// part of it that names one property.
    #[arg(long, value_name = "NAME")]
    pub property: Option<String>,
    /// Ask the Explorer to run to completion at start (so that property status shows from the
    /// first page) when a breadth-first check of the scenario generates fewer states than this.
    /// 0 never asks; the page's "Run to completion" button still does.
    #[arg(long, default_value_t = DEFAULT_RUN_TO_COMPLETION_BELOW, value_name = "STATES")]
    pub run_to_completion_below: usize,
}

/// A `--addr` that cannot be served on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    /// Not `IP:PORT` (host names other than `localhost` are not resolved).
    #[error("--addr `{0}` is not an address: expected IP:PORT such as 127.0.0.1:3000 (or localhost:PORT)")]
    NotAnAddress(String),
    /// Not a loopback address, and `--allow-non-loopback` was not given.
    #[error("--addr {0} is not a loopback address: serving there would expose the Explorer to the network (the model, every state, and a button that starts a full run), without authentication; use a 127.0.0.1 address, or pass --allow-non-loopback to do it on purpose")]
    NotLoopback(SocketAddr),
}

/// Whether an address only accepts connections from this machine (127.0.0.0/8, ::1, or
/// ::ffff:127.x.y.z). The unspecified addresses 0.0.0.0 and :: listen on every interface and
/// are not loopback.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Parses `--addr`: `IP:PORT`, `[IPv6]:PORT` or `localhost:PORT` (never looked up in DNS).
/// A non-loopback address is refused unless `allow_non_loopback`.
pub fn parse_addr(text: &str, allow_non_loopback: bool) -> Result<SocketAddr, AddrError> {
    let t = text.trim();
    let addr = match t.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            let port = t
                .rsplit_once(':')
                .filter(|(host, _)| host.eq_ignore_ascii_case("localhost"))
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .ok_or_else(|| AddrError::NotAnAddress(text.to_string()))?;
            SocketAddr::from((Ipv4Addr::LOCALHOST, port))
        }
    };
    if !allow_non_loopback && !is_loopback(addr.ip()) {
        return Err(AddrError::NotLoopback(addr));
    }
    Ok(addr)
}

/// The Explorer's page for a path (`None`: its start page).
pub fn explorer_url(addr: SocketAddr, path: Option<&str>) -> String {
    match path {
        Some(p) => format!("http://{addr}/#/steps/{p}"),
        None => format!("http://{addr}/"),
    }
}

/// Finds a property by its full name, or by a part of its name (ignoring case) that only one
/// property's name contains. The error lists the candidates.
pub fn find_property<'m>(model: &'m SealModel, query: &str) -> Result<&'m PropertyInfo, String> {
    let list = model.property_list();
    if let Some(p) = list.iter().find(|p| p.name == query) {
        return Ok(p);
    }
    let q = query.trim().to_lowercase();
    let matching: Vec<&PropertyInfo> = if q.is_empty() {
        Vec::new()
    } else {
        list.iter()
            .filter(|p| p.name.to_lowercase().contains(&q))
            .collect()
    };
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "--property `{query}` names no property of this scenario; its properties are:\n{}",
            list.iter()
                .map(|p| format!("  {:<10} {}", p.kind.name(), p.name))
                .collect::<Vec<_>>()
                .join("\n")
        )),
        many => Err(format!(
            "--property `{query}` matches {} properties; give more of the name:\n{}",
            many.len(),
            many.iter()
                .map(|p| format!("  {:<10} {}", p.kind.name(), p.name))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
}

/// What the shortest-path search looks for to show a property: a state that violates an
/// `always`, a state that satisfies a `sometimes`, a terminal state where an `eventually`
/// condition does not hold (the conditions are stable once true; see
/// `sealcheck_model::properties`).
pub fn property_target(p: &PropertyInfo) -> Target<'static, SealModel> {
    let cond = p.condition;
    let matches: shortest::Matcher<'static, SealModel> = match p.kind {
        PropertyKind::Always => Box::new(move |m, s, _| !cond(m, s)),
        PropertyKind::Sometimes => Box::new(move |m, s, _| cond(m, s)),
        PropertyKind::Eventually => Box::new(move |m, s, terminal| terminal && !cond(m, s)),
    };
    Target {
        name: p.name,
        matches,
    }
}

/// Where the printed link opens the Explorer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// The path in the Explorer's encoding (`0/3/1`).
    pub path: String,
    /// Number of steps (actions) along it.
    pub steps: usize,
    /// What it shows, for the printed line ("path 0/1", "shortest counterexample for ...").
    pub label: String,
}

/// Checks a `--path` against the model: it must parse and every index must name an enabled
/// action. The error names the step that does not replay.
pub fn open_path(model: &SealModel, text: &str) -> Result<Opening, UsageError> {
    let indices = shortest::parse_path(text).map_err(|e| UsageError(format!("--path: {e}")))?;
    let actions = shortest::decode(model, &indices)
        .map_err(|e| UsageError(format!("--path {}: {e}", text.trim())))?;
    let path = shortest::encode(&indices);
    Ok(Opening {
        label: format!("path {path}"),
        path,
        steps: actions.len(),
    })
}

/// Finds the shortest counterexample (or, for a `sometimes` property, example) of a property.
/// Errors when the property holds (or is unreachable) on the whole scenario, or when `budget`
/// unique states were searched without finding one.
pub fn open_property(model: &SealModel, query: &str, budget: usize) -> Result<Opening, UsageError> {
    let p = find_property(model, query).map_err(UsageError)?;
    let search = shortest::shortest_paths(model, &[property_target(p)], budget);
    let what = match p.kind {
        PropertyKind::Sometimes => "example",
        _ => "counterexample",
    };
    match search.found.get(p.name) {
        Some(found) => Ok(Opening {
            path: found.encode(),
            steps: found.actions.len(),
            label: format!("shortest {what} for \"{}\"", p.name),
        }),
        None if search.exhausted_budget => Err(UsageError(format!(
            "--property \"{}\": no {what} within the first {} unique states (searched breadth-first); the scenario is too large to settle this here",
            p.name, search.visited
        ))),
        None => Err(UsageError(format!(
            "--property \"{}\": there is no {what} to show: {} in every one of the {} reachable states",
            p.name,
            match p.kind {
                PropertyKind::Sometimes => "it is unreachable: the condition is false",
                PropertyKind::Always => "it holds: the condition is true",
                PropertyKind::Eventually => "it holds: every terminal state satisfies it, as seen",
            },
            search.visited
        ))),
    }
}

fn model_of(spec: &Spec) -> anyhow::Result<SealModel> {
    spec.config
        .clone()
        .into_model()
        .map_err(|e| UsageError(format!("{}: {e}", spec.display_name())).into())
}

/// The size measurement that decides whether to run the Explorer to completion at start.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// The bounded check.
    pub report: CheckReport,
    /// The bound (generated states).
    pub bound: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl Measurement {
    /// Whether the check completed below the bound (every property decided).
    pub fn small(&self) -> bool {
        self.report.incomplete.is_none() && self.report.states < self.bound
    }
}

/// Runs a breadth-first check of the model stopped after `bound` generated states; shortest
/// paths of what it finds are searched within `bound` unique states.
pub fn measure(model: &SealModel, bound: usize) -> Measurement {
    let start = Instant::now();
    let opts = CheckOptions {
        max_states: Some(bound),
        shortest_budget: bound,
        ..CheckOptions::default()
    };
    let report = engine::check(model, &opts, &mut |_| {});
    Measurement {
        report,
        bound,
        elapsed: start.elapsed(),
    }
}

/// Starts stateright's Explorer on a free 127.0.0.1 port and waits until it answers. A port
/// picked free may be taken again before stateright binds it (stateright then panics in its
/// thread): that is retried on another port.
fn start_backend(model: &SealModel) -> anyhow::Result<Backend> {
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let m = model.clone();
        let handle = thread::Builder::new()
            .name(BACKEND_THREAD.to_string())
            .spawn(move || {
                let _checker = m.checker().serve(addr);
            })?;
        let backend = Backend { addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if handle.is_finished() {
                last_error = format!("stateright's Explorer could not listen on {addr}");
                break;
            }
            match backend_request(addr, "GET", "/.status") {
                Ok(r) if r.status == 200 && r.body_text().contains("SealModel") => {
                    return Ok(backend)
                }
                Ok(r) => last_error = format!("{addr} answered {} to /.status", r.status),
                Err(e) => last_error = e.to_string(),
            }
            if Instant::now() > deadline {
                anyhow::bail!("stateright's Explorer did not start on {addr}: {last_error}");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    anyhow::bail!("stateright's Explorer did not start: {last_error}")
}

/// Prints a one-line note instead of a panic report when stateright's Explorer thread panics
/// (it unwraps a failed bind), or one of `tiny_http`'s connection threads does (it unwraps the
/// peer address of a connection that was reset before it was handled). Neither stops the
/// front; a dead Explorer makes the front answer 502.
fn quiet_backend_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_tiny_http = info
            .location()
            .is_some_and(|l| l.file().contains("tiny_http"));
        if thread::current().name() == Some(BACKEND_THREAD) {
            eprintln!("sealcheck explore: stateright's Explorer stopped: {info}");
        } else if in_tiny_http {
            eprintln!("sealcheck explore: a connection to stateright's Explorer failed: {info}");
        } else {
            default(info);
        }
    }));
}

/// Polls the Explorer until its run to completion is done, then prints the figures.
fn report_completion(backend: Backend, started: Instant) {
    let mut last_note = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(100));
        let Ok(status) = backend.status() else {
            continue;
        };
        let count = |k: &str| status[k].as_u64().unwrap_or(0);
        if status["done"].as_bool() == Some(true) {
            let found = status["properties"]
                .as_array()
                .map(|ps| ps.iter().filter(|p| !p[2].is_null()).count())
                .unwrap_or(0);
            println!(
                "run to completion finished in {:.2} s: {} states ({} unique, depth {}), {} discover{}; the page shows every property's status",
                started.elapsed().as_secs_f64(),
                count("state_count"),
                count("unique_state_count"),
                count("max_depth"),
                found,
                if found == 1 { "y" } else { "ies" }
            );
            return;
        }
        if last_note.elapsed() >= Duration::from_secs(10) {
            last_note = Instant::now();
            println!(
                "  ... running to completion: {} unique states after {:.0} s",
                count("unique_state_count"),
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// `sealcheck explore`: serves the Explorer until Ctrl-C (exit 0). Usage and input errors
/// (bad address, path or property, a port that is taken) are [`UsageError`]s (exit 2) and are
/// reported before anything is served.
pub fn explore(args: &ExploreArgs) -> anyhow::Result<u8> {
    let spec = load_scenario(&args.scenario)?;
    let model = model_of(&spec)?;
    let addr =
        parse_addr(&args.addr, args.allow_non_loopback).map_err(|e| UsageError(e.to_string()))?;
    let opening = match (&args.path, &args.property) {
        (Some(p), _) => Some(open_path(&model, p)?),
        (None, Some(name)) => Some(open_property(&model, name, PROPERTY_SEARCH_BUDGET)?),
        (None, None) => None,
    };

    // Ctrl-C exits 0 from here on: while setting up, at once; once serving, through `main`.
    let serving = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    {
        let serving = Arc::clone(&serving);
        ctrlc::set_handler(move || {
            if serving.load(Ordering::SeqCst) {
                let _ = stop_tx.send(());
            } else {
                eprintln!("sealcheck explore: interrupted before serving; stopped");
                std::process::exit(0);
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot handle Ctrl-C: {e}"))?;
    }

    // Take the address first, so that a port in use is reported before any work.
    let listener = TcpListener::bind(addr)
        .map_err(|e| UsageError(format!("--addr {addr}: cannot listen there: {e}")))?;
    let local = listener.local_addr()?;

    println!(
        "sealcheck explore: {} ({})",
        spec.config.name,
        spec.display_name()
    );
    println!("  {}", report::scenario_line(&spec.config));

    let measurement =
        (args.run_to_completion_below > 0).then(|| measure(&model, args.run_to_completion_below));
    let small = measurement.as_ref().is_some_and(Measurement::small);
    if let Some(m) = &measurement {
        let r = &m.report;
        if m.small() {
            println!(
                "scenario size: {} unique states ({} generated, depth {}), full breadth-first check in {:.2} s",
                r.unique_states,
                r.states,
                r.max_depth,
                m.elapsed.as_secs_f64()
            );
        } else {
            println!(
                "scenario size: more than {} states (a breadth-first check stopped there after {:.2} s)",
                m.bound,
                m.elapsed.as_secs_f64()
            );
        }
    }

    quiet_backend_panics();
    let backend = start_backend(&model)?;
    let started = Instant::now();
    if small {
        let r = backend_request(backend.addr, "POST", "/.runtocompletion")?;
        if r.status != 200 {
            anyhow::bail!(
                "stateright's Explorer refused to run to completion: {}",
                r.status
            );
        }
        println!(
            "run to completion requested at start (below --run-to-completion-below {} states): the Explorer checks every property now",
            args.run_to_completion_below
        );
        thread::Builder::new()
            .name("sealcheck-explorer-status".into())
            .spawn(move || report_completion(backend, started))?;
    } else {
        println!(
            "the Explorer checks states on demand; to see every property's status, press \"Run to completion\" on the page, or run: curl -X POST http://{local}/.runtocompletion"
        );
    }

    let front = Arc::new(Front::new(model.clone(), backend, is_loopback(local.ip())));
    proxy::spawn_front(listener, front)?;
    serving.store(true, Ordering::SeqCst);

    if !is_loopback(local.ip()) {
        println!("WARNING: serving on {local}, which is not loopback: the Explorer is reachable from the network");
    }
    println!("Explorer: {}", explorer_url(local, None));
    if let Some(o) = &opening {
        println!(
            "{} ({} step{}): {}",
            o.label,
            o.steps,
            if o.steps == 1 { "" } else { "s" },
            explorer_url(local, Some(&o.path))
        );
    }
    if let Some(m) = measurement.as_ref().filter(|m| m.small()) {
        let shown = opening.as_ref().map(|o| o.path.as_str());
        for p in m.report.properties.iter().filter(|p| p.failure) {
            if let Some(t) = p.trail.as_ref().filter(|t| Some(t.path.as_str()) != shown) {
                println!(
                    "{} \"{}\" ({} steps): {}",
                    match p.kind {
                        PropertyKind::Sometimes => "example for",
                        _ => "shortest counterexample for",
                    },
                    p.name,
                    t.steps.len(),
                    explorer_url(local, Some(&t.path))
                );
            }
        }
    }
    println!("Ctrl-C stops it.");

    let _ = stop_rx.recv();
    println!("sealcheck explore: stopped");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealcheck_model::{properties, Config};

    fn incident() -> SealModel {
        Config::incident().into_model().unwrap()
    }

    #[test]
    fn loopback_addresses_are_accepted() {
        for (text, want) in [
            ("127.0.0.1:3000", "127.0.0.1:3000"),
            ("127.0.0.1:0", "127.0.0.1:0"),
            ("127.1.2.3:80", "127.1.2.3:80"),
            ("localhost:4000", "127.0.0.1:4000"),
            ("LOCALHOST:4000", "127.0.0.1:4000"),
            ("[::1]:3000", "[::1]:3000"),
            ("[::ffff:127.0.0.1]:3000", "[::ffff:127.0.0.1]:3000"),
        ] {
            assert_eq!(
                parse_addr(text, false),
                Ok(want.parse().unwrap()),
                "--addr {text}"
            );
        }
    }

    #[test]
    fn non_loopback_addresses_are_refused_without_the_flag() {
        for text in [
            "0.0.0.0:3000",
            "[::]:3000",
            "192.168.1.10:3000",
            "[2001:db8::1]:80",
        ] {
            let err = parse_addr(text, false).unwrap_err();
            assert_eq!(err, AddrError::NotLoopback(text.parse().unwrap()));
            let msg = err.to_string();
            assert!(msg.contains("--allow-non-loopback"), "{msg}");
            assert!(msg.contains("expose the Explorer to the network"), "{msg}");
            assert_eq!(parse_addr(text, true), Ok(text.parse().unwrap()));
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for text in [
            "",
            "3000",
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "example.org:3000",
            "localhost",
            "localhost:http",
            "::1:3000",
        ] {
            assert_eq!(
                parse_addr(text, true),
                Err(AddrError::NotAnAddress(text.to_string())),
                "--addr {text:?}"
            );
        }
    }

    #[test]
    fn explorer_urls_use_the_address_given() {
        let a: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        assert_eq!(explorer_url(a, None), "http://127.0.0.1:4321/");
        assert_eq!(
            explorer_url(a, Some("0/3/1")),
            "http://127.0.0.1:4321/#/steps/0/3/1"
        );
        let v6: SocketAddr = "[::1]:3000".parse().unwrap();
        assert_eq!(explorer_url(v6, None), "http://[::1]:3000/");
    }

    #[test]
    fn properties_are_found_by_full_name_or_a_unique_part() {
        let m = incident();
        let full = find_property(&m, properties::SEAL_EVENTUALLY_SUCCEEDS).unwrap();
        assert_eq!(full.name, properties::SEAL_EVENTUALLY_SUCCEEDS);
        let part = find_property(&m, "Eventually Succeeds").unwrap();
        assert_eq!(part.name, properties::SEAL_EVENTUALLY_SUCCEEDS);
        let err = find_property(&m, "tail").unwrap_err();
        assert!(err.contains("matches"), "{err}");
        assert!(err.contains(properties::ACKED_BELOW_SEALED_TAIL), "{err}");
        let err = find_property(&m, "no such property").unwrap_err();
        assert!(err.contains("names no property"), "{err}");
        assert!(err.contains(properties::LOGLET_GETS_SEALED), "{err}");
        assert!(find_property(&m, "  ").is_err());
    }

    #[test]
    fn a_valid_path_opens_with_its_step_count() {
        let m = incident();
        let o = open_path(&m, "0/3/0/0/0").unwrap();
        assert_eq!(o.path, "0/3/0/0/0");
        assert_eq!(o.steps, 4);
        // Surrounding slashes and blanks are tolerated, the printed path is canonical.
        assert_eq!(open_path(&m, " /0/3/ ").unwrap().path, "0/3");
    }

    #[test]
    fn bad_paths_are_usage_errors_that_name_the_problem() {
        let m = incident();
        let err = open_path(&m, "0/x/1").unwrap_err().0;
        assert!(err.contains("is not a path"), "{err}");
        let err = open_path(&m, "0/9").unwrap_err().0;
        assert!(
            err.contains("step 1 of the path names action 9, but only 4 are possible there"),
            "{err}"
        );
        let err = open_path(&m, "1").unwrap_err().0;
        assert!(err.contains("step 0"), "{err}");
        // Past a terminal state there is no action at all.
        let err = open_path(&m, "0/3/0/0/0/0").unwrap_err().0;
        assert!(err.contains("only 0 are possible"), "{err}");
    }

    #[test]
    fn a_property_opens_at_its_shortest_counterexample() {
        let m = incident();
        let o = open_property(&m, properties::SEAL_EVENTUALLY_SUCCEEDS, 1_000_000).unwrap();
        // The incident: seal() is rejected while all three look Provisioning, then all three
        // provision themselves and nothing is left to do.
        assert_eq!(o.path, "0/3/0/0/0");
        assert_eq!(o.steps, 4);
        assert!(
            o.label.starts_with("shortest counterexample"),
            "{}",
            o.label
        );
        let o = open_property(&m, "all members look Provisioning", 1_000_000).unwrap();
        assert_eq!(o.path, "0/3");
        assert!(o.label.starts_with("shortest example"), "{}", o.label);
    }

    #[test]
    fn a_property_without_counterexample_is_a_clear_error() {
        let m = incident();
        let err = open_property(&m, properties::ACKED_BELOW_SEALED_TAIL, 1_000_000)
            .unwrap_err()
            .0;
        assert!(err.contains("there is no counterexample"), "{err}");
        assert!(err.contains("it holds"), "{err}");
        let err = open_property(&m, properties::ACKED_BELOW_SEALED_TAIL, 10)
            .unwrap_err()
            .0;
        assert!(err.contains("within the first"), "{err}");
    }

    #[test]
    fn small_scenarios_are_measured_complete_and_big_ones_not() {
        let m = incident();
        let small = measure(&m, 100_000);
        assert!(small.small());
        assert_eq!(small.report.unique_states, 530);
        let cut = measure(&m, 100);
        assert!(!cut.small());
    }
}
