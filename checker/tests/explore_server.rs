//! Black-box tests of `sealcheck explore`: the built binary serves stateright's Explorer on a
//! loopback port, shows the incident's counterexample in protocol words, answers bad requests
//! with clear JSON errors without going down, and stops on Ctrl-C with exit 0.

mod explore_support;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use explore_support::*;

/// The next steps the Explorer offers after a path.
fn states(e: &Explorer, path: &str) -> Vec<serde_json::Value> {
    let a = http(e.addr, "GET", &format!("/.states{path}")).unwrap();
    assert_eq!(
        a.status,
        200,
        "/.states{path}: {}",
        String::from_utf8_lossy(&a.body)
    );
    assert!(
        a.head.contains("Content-Type: application/json"),
        "{}",
        a.head
    );
    a.json().as_array().expect("an array of steps").clone()
}

fn step(steps: &[serde_json::Value], action_index: u64) -> &serde_json::Value {
    steps
        .iter()
        .find(|s| s["actionIndex"] == action_index)
        .unwrap_or_else(|| panic!("no step with actionIndex {action_index} in {steps:?}"))
}

fn error(e: &Explorer, method: &str, path: &str) -> (u16, String) {
    let a = http(e.addr, method, path).unwrap();
    let j = a.json();
    assert_eq!(j["status"], a.status, "{j}");
    (
        a.status,
        j["error"].as_str().expect("an error message").to_string(),
    )
}

#[test]
fn serves_the_incident_counterexample_in_protocol_words() {
    let e = Explorer::start(&["--path", INCIDENT_PATH, "--addr", "127.0.0.1:0"]);
    let port = e.addr.port();
    let out = e.stdout().join("\n");
    assert!(
        out.contains("run to completion requested at start"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "path {INCIDENT_PATH} (4 steps): http://127.0.0.1:{port}/#/steps/{INCIDENT_PATH}"
        )),
        "{out}"
    );

    // Property status is there without anyone pressing "Run to completion".
    let status = e.wait_done(Duration::from_secs(60));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !e.stdout().iter().any(|l| {
        l.starts_with("run to completion finished in ")
            && l.contains("1097 states (530 unique, depth 11)")
    }) {
        assert!(std::time::Instant::now() < deadline, "{:?}", e.stdout());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        status["model"].as_str().unwrap().ends_with("SealModel"),
        "{status}"
    );
    assert_eq!(status["unique_state_count"], 530, "{status}");
    let props = status["properties"].as_array().unwrap();
    assert_eq!(props.len(), 13, "{status}");
    let liveness = props
        .iter()
        .find(|p| p[1] == LIVENESS)
        .expect("the liveness property");
    assert_eq!(liveness[0], "Eventually");
    assert!(liveness[2].is_string(), "a counterexample path: {liveness}");

    // The page and its scripts arrive whole (not in tiny_http's chunked encoding).
    let page = http(e.addr, "GET", "/").unwrap();
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<title>Stateright Explorer</title>"));
    for script in ["/knockout-3.5.0.js", "/app.js"] {
        let js = http(e.addr, "GET", script).unwrap();
        assert_eq!(js.status, 200, "{script}");
        assert!(
            js.head.contains("Content-Type: text/javascript"),
            "{}",
            js.head
        );
        let text = String::from_utf8_lossy(&js.body);
        assert!(
            text.starts_with("/*!") || text.starts_with("/// "),
            "{script} starts with {:?}",
            &text[..40.min(text.len())]
        );
    }

    // The initial state, then the steps along the path.
    assert_eq!(states(&e, "").len(), 1);
    let first = states(&e, "/0");
    assert_eq!(
        first.len(),
        4,
        "three servers may provision, or seal() is called"
    );
    let rejected = step(&first, 3);
    assert_eq!(rejected["action"], REJECTION);
    let outcome = rejected["outcome"].as_str().unwrap();
    assert!(outcome.contains("N5 harness: Ready -> Failed"), "{outcome}");
    assert!(
        outcome.contains(
            "noted: a seal was rejected because every nodeset member looked Provisioning"
        ),
        "{outcome}"
    );
    let svg = rejected["svg"].as_str().unwrap();
    assert!(
        svg.contains("seal() REJECTED: all nodeset members Provisioning in view v1"),
        "{svg}"
    );

    let last = states(&e, "/0/3/0/0");
    let n3 = step(&last, 0);
    assert_eq!(
        n3["action"],
        "N3 writes its storage marker and provisions itself (Provisioning -> ReadWrite)"
    );
    let outcome = n3["outcome"].as_str().unwrap();
    assert!(
        outcome.contains("metadata v3 -> v4: N1=ReadWrite N2=ReadWrite N3=ReadWrite"),
        "{outcome}"
    );
    assert!(outcome.contains("N5 view v3 -> v4"), "{outcome}");
    let svg = n3["svg"].as_str().unwrap();
    assert!(svg.contains("N3 provisions itself"), "{svg}");
    assert!(svg.contains(">harness Failed</text>"), "{svg}");
    // Nothing is left to do: the harness gave up, which is the liveness violation.
    assert!(states(&e, &format!("/{INCIDENT_PATH}")).is_empty());
}

#[test]
fn bad_requests_get_clear_errors_and_the_server_stays_up() {
    let mut e = Explorer::start(&["--addr", "127.0.0.1:0"]);

    let (status, msg) = error(&e, "GET", "/.states/abc");
    assert_eq!(status, 400);
    assert!(msg.contains("`abc` is not a path"), "{msg}");
    let (status, msg) = error(&e, "GET", "/.states/0//3");
    assert_eq!(status, 400, "{msg}");
    let (status, msg) = error(&e, "GET", "/.states/0/99");
    assert_eq!(status, 404);
    assert!(
        msg.contains("step 1 of the path names action 99, but only 4 are possible there"),
        "{msg}"
    );
    let (status, msg) = error(&e, "GET", &format!("/.states/{INCIDENT_PATH}/0"));
    assert_eq!(status, 404);
    assert!(msg.contains("only 0 are possible"), "{msg}");
    let (status, msg) = error(&e, "GET", "/.states/18446744073709551616");
    assert_eq!(status, 400, "{msg}");
    let (status, msg) = error(&e, "GET", "/no/such/page");
    assert_eq!(status, 404);
    assert!(msg.contains("no such page: /no/such/page"), "{msg}");
    let (status, _) = error(&e, "GET", "/.statesX");
    assert_eq!(status, 404);
    let (status, _) = error(&e, "POST", "/.status");
    assert_eq!(status, 405);
    let (status, _) = error(&e, "GET", "/.runtocompletion");
    assert_eq!(status, 405);

    // Not HTTP at all, a request for another host, a huge head.
    let a = raw(e.addr, b"HELLO\r\n\r\n").unwrap();
    assert_eq!(a.status, 400);
    assert!(a.json()["error"]
        .as_str()
        .unwrap()
        .contains("malformed HTTP request"));
    let a = raw(
        e.addr,
        b"GET /.status HTTP/1.1\r\nHost: attacker.example\r\n\r\n",
    )
    .unwrap();
    assert_eq!(a.status, 403);
    let mut huge = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
    huge.extend(b"\r\n\r\n");
    if let Ok(a) = raw(e.addr, &huge) {
        assert_eq!(a.status, 431);
    }
    // Clients that leave: without a word, mid-request, right after asking.
    drop(TcpStream::connect(e.addr).unwrap());
    let mut s = TcpStream::connect(e.addr).unwrap();
    s.write_all(b"GET /.states/0/3 HT").unwrap();
    drop(s);
    for _ in 0..20 {
        let mut s = TcpStream::connect(e.addr).unwrap();
        s.write_all(b"GET /.states/0/3/0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        drop(s);
    }

    // Still up, still right.
    assert!(e.running(), "the server died: {:?}", e.stderr());
    let a = http(e.addr, "GET", "/.status").unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(states(&e, "/0").len(), 4);
    let err = e.stderr().join("\n");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn the_printed_url_uses_the_address_given_and_big_runs_wait_for_a_request() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    // With the threshold at 0 the Explorer is not run to completion at start.
    let e = Explorer::start(&["--addr", &addr, "--run-to-completion-below", "0"]);
    assert_eq!(e.addr.to_string(), addr);
    let out = e.stdout().join("\n");
    assert!(out.contains(&format!("Explorer: http://{addr}/")), "{out}");
    assert!(
        out.contains(&format!("curl -X POST http://{addr}/.runtocompletion")),
        "{out}"
    );
    assert!(!out.contains("run to completion requested"), "{out}");
    std::thread::sleep(Duration::from_millis(300));
    let status = http(e.addr, "GET", "/.status").unwrap().json();
    assert_eq!(status["done"], false, "{status}");
    // The printed command, through the front.
    let a = http(e.addr, "POST", "/.runtocompletion").unwrap();
    assert_eq!(a.status, 200);
    let status = e.wait_done(Duration::from_secs(60));
    assert_eq!(status["unique_state_count"], 530);
}

#[test]
fn a_property_opens_at_its_shortest_counterexample() {
    let e = Explorer::start(&["--property", "eventually succeeds", "--addr", "127.0.0.1:0"]);
    let out = e.stdout().join("\n");
    assert!(
        out.contains(&format!(
            "shortest counterexample for \"{LIVENESS}\" (4 steps): http://{}/#/steps/{INCIDENT_PATH}",
            e.addr
        )),
        "{out}"
    );
}

#[test]
fn ctrl_c_stops_it_with_exit_0() {
    let mut e = Explorer::start(&["--addr", "127.0.0.1:0"]);
    let sent = Command::new("kill")
        .args(["-INT", &e.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = e
        .wait_exit(Duration::from_secs(10))
        .expect("it stops on SIGINT");
    assert_eq!(status.code(), Some(0), "{status}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        e.stdout().iter().any(|l| l == "sealcheck explore: stopped"),
        "{:?}",
        e.stdout()
    );
}

#[test]
fn ctrl_c_while_measuring_a_big_scenario_also_exits_0() {
    // The five-server scenario has about 2 million states: measuring it takes seconds.
    let mut e = Explorer::spawn_in(
        &workspace_root(),
        &[
            "specs/bench-five-servers.toml",
            "--addr",
            "127.0.0.1:0",
            "--run-to-completion-below",
            "100000000",
        ],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !e
        .stdout()
        .iter()
        .any(|l| l.starts_with("sealcheck explore: bench"))
    {
        assert!(std::time::Instant::now() < deadline, "{:?}", e.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = Command::new("kill")
        .args(["-INT", &e.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = e
        .wait_exit(Duration::from_secs(10))
        .expect("it stops on SIGINT");
    assert_eq!(status.code(), Some(0), "{status}");
    std::thread::sleep(Duration::from_millis(100));
    let err = e.stderr().join("\n");
    assert!(err.contains("interrupted before serving; stopped"), "{err}");
    assert!(
        !e.stdout().iter().any(|l| l.starts_with("Explorer: ")),
        "{:?}",
        e.stdout()
    );
}

#[test]
fn usage_errors_exit_2_before_serving() {
    let cases: [(&[&str], &str); 8] = [
        (&["--path", "abc"], "--path: `abc` is not a path"),
        (
            &["--path", "0/9"],
            "--path 0/9: step 1 of the path names action 9, but only 4 are possible there",
        ),
        (&["--addr", "0.0.0.0:3000"], "--allow-non-loopback"),
        (&["--addr", "example.org:3000"], "is not an address"),
        (&["--property", "nonsense"], "names no property"),
        (
            &[
                "--property",
                "acknowledged offsets stay below the sealed tail",
            ],
            "there is no counterexample to show",
        ),
        (
            &["--path", "0", "--property", "sealed"],
            "cannot be used with",
        ),
        (&["specs/no-such-file.toml"], "no-such-file.toml"),
    ];
    for (args, want) in cases {
        let out = run_with_timeout(
            Command::new(bin()).arg("explore").args(args),
            Duration::from_secs(60),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("bug in sealcheck"), "{args:?}: {err}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("Explorer: http"),
            "{args:?} served"
        );
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_with_timeout(
        Command::new(bin()).args(["explore", "--addr", &addr]),
        Duration::from_secs(60),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--addr {addr}: cannot listen there")),
        "{err}"
    );
}

#[test]
fn every_explore_command_that_check_prints_opens_its_path() {
    let root = workspace_root();
    let mut commands = Vec::new();
    for spec in [None, Some("specs/forced-provisioning.toml")] {
        let mut cmd = Command::new(bin());
        cmd.current_dir(&root)
            .args(["check", "--examples", "--format", "json"]);
        cmd.args(spec);
        let out = run_with_timeout(&mut cmd, Duration::from_secs(120));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for p in report["properties"].as_array().unwrap() {
            if let Some(r) = p.get("reproduce") {
                commands.push((
                    r["explore"].as_str().unwrap().to_string(),
                    r["explorer_url"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert!(commands.len() >= 5, "{commands:?}");
    for (command, url) in commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(&words[..2], ["sealcheck", "explore"], "{command}");
        let path = url
            .strip_prefix("http://127.0.0.1:3000/#/steps/")
            .unwrap_or_else(|| panic!("{url}"));
        let mut args = words[2..].to_vec();
        args.extend(["--addr", "127.0.0.1:0"]);
        let e = Explorer::start_in(&root, &args);
        let out = e.stdout().join("\n");
        assert!(
            out.contains(&format!("path {path} ("))
                && out.contains(&format!("http://{}/#/steps/{path}", e.addr)),
            "{command}: {out}"
        );
        let a = http(e.addr, "GET", &format!("/.states/{path}")).unwrap();
        assert_eq!(a.status, 200, "{command}");
    }
}
