//! `sealcheck explore`: stateright's Explorer for a scenario, behind a small validating front.
//!
//! stateright 0.31's `CheckerBuilder::serve` runs an on-demand checker and a `tiny_http` server
//! that never returns. Measured against it (see `tests/explore_server.rs`): a malformed or
//! out-of-range `/.states/...` path gets a plain-text 404 (`/.statesX` even gets the initial
//! states), a port that is taken makes it panic, property status stays empty until someone
//! POSTs `/.runtocompletion`, and that run is unbounded (4.9 GB after 40 s on a big scenario).
//! Its port answers any `Host` and `Origin`, so any local process, or a web page through the
//! user's browser, could reach it directly.
//!
//! So `explore` serves the Explorer itself, on `std::net`, and listens on one port only:
//!
//! ```text
//! browser ──> front (the --addr address, loopback unless --allow-non-loopback)
//!               │  validates every request: Host, Origin/Referer, /.states/<path> parsed and
//!               │  replayed against the model; bad paths get 400/404 with a JSON error,
//!               │  unknown pages 404, wrong methods 405, slow clients 408 (proxy)
//!               ├──> stateright's page files, read once from stateright at start (page)
//!               └──> the Explorer's JSON: states from the model, property status from a run
//!                    of the checker bounded by --run-max-states and --run-timeout (api)
//! ```
//!
//! Before serving, a bounded breadth-first check measures the scenario. Below
//! `--run-to-completion-below` states the front starts the run to completion at once, so the
//! page shows every property's status from the first load; above it, the command prints how to
//! ask for it. A run cut short by its bounds says so on stdout, in `/.status` (`run`), and on
//! the page (its progress line), and its undecided properties stay "searching". `--path` (as
//! `check` prints it) and `--property` (the shortest counterexample or example, from
//! [`crate::shortest`]) choose the page the printed link opens.

mod api;
mod backend;
mod page;
mod proxy;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use sealcheck_model::{PropertyInfo, PropertyKind, SealModel};

pub use api::{ExplorerApi, RunBounds, RunRequest};
pub use backend::{backend_request, BackendReply};
pub use page::{fetch_page, PageFiles, PageOnly};
pub use proxy::{
    is_loopback, parse_request_head, same_origin, Front, HttpError, Reply, RequestHead, Route,
};

use crate::cli::ExploreArgs;
use crate::commands::load_scenario;
use crate::engine::{self, CheckOptions, CheckReport};
use crate::exit::{Exit, UsageError};
use crate::report;
use crate::shortest::{self, Target};
use crate::spec::Spec;

/// Unique states the shortest-path search for `--property` may visit.
pub const PROPERTY_SEARCH_BUDGET: usize = 20_000_000;

pub use crate::cli::{DEFAULT_RUN_MAX_STATES, DEFAULT_RUN_TIMEOUT_SECS};

/// A line on standard output that never panics: the Explorer keeps serving when nobody reads
/// its log any more (`sealcheck explore | head -3`), where `println!` would panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
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
    let p = p.clone();
    let name = p.name;
    let matches: shortest::Matcher<'static, SealModel> =
        Box::new(move |m, s, terminal| p.is_target(m, s, terminal));
    Target { name, matches }
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
    let indices =
        shortest::parse_path(text).map_err(|e| UsageError::new(format!("--path: {e}")))?;
    let actions = shortest::decode(model, &indices)
        .map_err(|e| UsageError::new(format!("--path {}: {e}", text.trim())))?;
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
    let p = find_property(model, query).map_err(UsageError::new)?;
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
        None if search.exhausted_budget => Err(UsageError::new(format!(
            "--property \"{}\": no {what} within the first {} unique states (searched breadth-first); the scenario is too large to settle this here",
            p.name, search.visited
        ))),
        None => Err(UsageError::new(format!(
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
        .map_err(|e| UsageError::new(format!("{}: {e}", spec.display_name())).into())
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

/// Prints a one-line note instead of a panic report when the thread of stateright's page
/// server panics (it unwraps a failed bind), or one of `tiny_http`'s connection threads does
/// (it unwraps the peer address of a connection that was reset before it was handled), and
/// nothing at all for the panics that end that server when [`page::fetch_page`] shuts it down
/// on purpose. None of these stops the front.
fn quiet_page_server_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info.location().map(|l| l.file()).unwrap_or_default();
        let retired = page::RETIRED.load(Ordering::SeqCst);
        if retired && (file.contains("stateright") || file.contains("tiny_http")) {
        } else if thread::current().name() == Some(page::PAGE_THREAD) {
            eprintln!("sealcheck explore: stateright's page server stopped: {info}");
        } else if file.contains("tiny_http") {
            eprintln!("sealcheck explore: a connection to stateright's page server failed: {info}");
        } else {
            default(info);
        }
    }));
}

/// Says how large the scenario is, as far as the start-up measurement saw.
fn say_size(m: &Measurement) {
    let r = &m.report;
    if m.small() {
        say!(
            "scenario size: {} unique states ({} generated, depth {}), full breadth-first check in {:.2} s",
            r.unique_states,
            r.states,
            r.max_depth,
            m.elapsed.as_secs_f64()
        );
    } else {
        say!(
            "scenario size: more than {} states (a breadth-first check stopped there after {:.2} s)",
            m.bound,
            m.elapsed.as_secs_f64()
        );
    }
}

/// Starts the Explorer's data with the run bounds of `args`, and a run to completion at once
/// when the scenario is `small`; says how to start one otherwise.
fn start_api(
    model: &SealModel,
    args: &ExploreArgs,
    small: bool,
    local: SocketAddr,
) -> Arc<ExplorerApi> {
    let bounds = RunBounds {
        max_states: args.run_max_states,
        timeout: Duration::from_secs(args.run_timeout),
    };
    let api = ExplorerApi::new(model.clone(), bounds, Box::new(|line| say!("{line}")));
    if small {
        api.run_to_completion();
        say!(
            "run to completion requested at start (below --run-to-completion-below {} states): the Explorer checks every property now",
            args.run_to_completion_below
        );
    } else {
        say!(
            "the Explorer checks states on demand; to see every property's status, press \"Run to completion\" on the page, or run: curl -X POST http://{local}/.runtocompletion"
        );
        say!(
            "  (a run to completion stops at --run-max-states {} states or --run-timeout {} s, and then says it was cut short)",
            bounds.max_states,
            bounds.timeout.as_secs()
        );
    }
    api
}

/// Says where the Explorer is, and the links to the opening path and to every failing
/// property's path found at start-up.
fn say_links(local: SocketAddr, opening: Option<&Opening>, measurement: Option<&Measurement>) {
    say!("Explorer: {}", explorer_url(local, None));
    if let Some(o) = opening {
        say!(
            "{} ({} step{}): {}",
            o.label,
            o.steps,
            if o.steps == 1 { "" } else { "s" },
            explorer_url(local, Some(&o.path))
        );
    }
    if let Some(m) = measurement.filter(|m| m.small()) {
        let shown = opening.map(|o| o.path.as_str());
        for p in m.report.properties.iter().filter(|p| p.failure) {
            if let Some(t) = p.trail.as_ref().filter(|t| Some(t.path.as_str()) != shown) {
                say!(
                    "{} \"{}\" ({}): {}",
                    match p.kind {
                        PropertyKind::Sometimes => "example for",
                        _ => "shortest counterexample for",
                    },
                    p.name,
                    sealcheck_model::words::count(t.steps.len(), "step", "steps"),
                    explorer_url(local, Some(&t.path))
                );
            }
        }
    }
}

/// `sealcheck explore`: serves the Explorer until Ctrl-C (exit 0). Usage and input errors
/// (bad address, path or property, a port that is taken) are [`UsageError`]s (exit 2) and are
/// reported before anything is served.
pub fn explore(args: &ExploreArgs) -> anyhow::Result<Exit> {
    let spec = load_scenario(&args.scenario)?;
    let model = model_of(&spec)?;
    let addr = parse_addr(&args.addr, args.allow_non_loopback)
        .map_err(|e| UsageError::new(e.to_string()))?;
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
                std::process::exit(Exit::Holds.code().into());
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot handle Ctrl-C: {e}"))?;
    }

    // Take the address first, so that a port in use is reported before any work.
    let listener = TcpListener::bind(addr)
        .map_err(|e| UsageError::new(format!("--addr {addr}: cannot listen there: {e}")))?;
    let local = listener.local_addr()?;

    say!(
        "sealcheck explore: {} ({})",
        spec.config.name,
        spec.display_name()
    );
    say!("  {}", report::scenario_line(&spec.config));

    let measurement =
        (args.run_to_completion_below > 0).then(|| measure(&model, args.run_to_completion_below));
    let small = measurement.as_ref().is_some_and(Measurement::small);
    if let Some(m) = &measurement {
        say_size(m);
    }

    quiet_page_server_panics();
    let page = fetch_page()?;
    let api = start_api(&model, args, small, local);

    let front = Arc::new(Front::new(
        model.clone(),
        Arc::clone(&api),
        page,
        is_loopback(local.ip()),
    ));
    proxy::spawn_front(listener, front)?;
    serving.store(true, Ordering::SeqCst);

    if !is_loopback(local.ip()) {
        say!("WARNING: serving on {local}, which is not loopback: the Explorer is reachable from the network");
    }
    say_links(local, opening.as_ref(), measurement.as_ref());
    say!("Ctrl-C stops it.");

    let _ = stop_rx.recv();
    say!("sealcheck explore: stopped");
    Ok(Exit::Holds)
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
        let err = open_path(&m, "0/+3").unwrap_err().0;
        assert!(err.contains("is not a path"), "{err}");
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
