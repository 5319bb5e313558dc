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
    let (status, msg) = error(&e, "GET", "/.states/0/3/+1");
    assert_eq!(status, 400, "a signed index is not a path: {msg}");
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

/// Polls `/.status` until its run is over (complete or cut short); returns the status.
fn wait_run_over(e: &Explorer, limit: Duration) -> serde_json::Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let v = http(e.addr, "GET", "/.status").unwrap().json();
        if v["run"]["state"] == "complete" || v["run"]["state"] == "cut-short" {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never ended: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn post_from(e: &Explorer, header: &str) -> Answer {
    raw(
        e.addr,
        format!(
            "POST /.runtocompletion HTTP/1.1\r\nHost: {}\r\n{header}\r\nContent-Length: 0\r\n\r\n",
            e.addr
        )
        .as_bytes(),
    )
    .unwrap()
}

#[test]
fn a_page_of_another_site_cannot_start_a_run() {
    let e = Explorer::start(&["--addr", "127.0.0.1:0", "--run-to-completion-below", "0"]);
    for header in [
        "Origin: http://evil.example",
        "Origin: null",
        "Referer: http://evil.example/page.html",
    ] {
        let a = post_from(&e, header);
        assert_eq!(a.status, 403, "{header}");
        assert!(
            a.json()["error"].as_str().unwrap().contains("another site"),
            "{header}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = http(e.addr, "GET", "/.status").unwrap().json();
    assert_eq!(status["run"]["state"], "idle", "{status}");
    assert_eq!(status["state_count"], 0, "{status}");
    // The Explorer's own page may.
    let a = post_from(&e, &format!("Origin: http://{}", e.addr));
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["run"], "started");
    let status = e.wait_done(Duration::from_secs(60));
    assert_eq!(status["unique_state_count"], 530);
    assert_eq!(status["run"]["state"], "complete", "{status}");
}

#[test]
fn a_run_to_completion_stops_at_its_state_bound_and_says_so() {
    // The five-server scenario has about 2 million states; stateright checks the bound every
    // 1500 states.
    let e = Explorer::start_in(
        &workspace_root(),
        &[
            "specs/bench-five-servers.toml",
            "--addr",
            "127.0.0.1:0",
            "--run-to-completion-below",
            "0",
            "--run-max-states",
            "20000",
        ],
    );
    let out = e.stdout().join("\n");
    assert!(out.contains("--run-max-states 20000 states"), "{out}");
    assert_eq!(
        http(e.addr, "POST", "/.runtocompletion").unwrap().status,
        200
    );
    let status = wait_run_over(&e, Duration::from_secs(60));
    assert_eq!(status["run"]["state"], "cut-short", "{status}");
    // Not "done": the page keeps undecided properties as "searching", not "holds".
    assert_eq!(status["done"], false, "{status}");
    let states = status["state_count"].as_u64().unwrap();
    assert!((20_000..30_000).contains(&states), "{status}");
    let progress = status["recent_path"].as_str().unwrap();
    assert!(progress.starts_with("CUT SHORT: stopped at"), "{progress}");
    assert!(progress.contains("--run-max-states 20000"), "{progress}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !e
        .stdout()
        .iter()
        .any(|l| l.starts_with("run to completion CUT SHORT after "))
    {
        assert!(std::time::Instant::now() < deadline, "{:?}", e.stdout());
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second request does not run it again.
    let a = http(e.addr, "POST", "/.runtocompletion").unwrap();
    assert_eq!(a.json()["run"], "already-finished");
}

#[test]
fn a_run_to_completion_stops_at_its_time_bound_and_says_so() {
    // The five-server scenario has about 2 million states: more than a second of work.
    let e = Explorer::start_in(
        &workspace_root(),
        &[
            "specs/bench-five-servers.toml",
            "--addr",
            "127.0.0.1:0",
            "--run-to-completion-below",
            "0",
            "--run-timeout",
            "1",
        ],
    );
    let started = std::time::Instant::now();
    assert_eq!(
        http(e.addr, "POST", "/.runtocompletion").unwrap().status,
        200
    );
    let status = wait_run_over(&e, Duration::from_secs(60));
    assert!(started.elapsed() < Duration::from_secs(30), "{status}");
    assert_eq!(status["run"]["state"], "cut-short", "{status}");
    assert_eq!(status["done"], false, "{status}");
    let reason = status["run"]["cut_short"].as_str().unwrap();
    assert!(reason.contains("--run-timeout 1 s"), "{reason}");
}

#[test]
fn slow_clients_cannot_keep_everyone_else_out() {
    let e = Explorer::start(&["--addr", "127.0.0.1:0"]);
    // Every slot taken by a client that sent one byte and waits.
    let slow: Vec<TcpStream> = (0..64)
        .map(|_| {
            let mut s = TcpStream::connect(e.addr).unwrap();
            s.write_all(b"G").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    for _ in 0..3 {
        let a = http(e.addr, "GET", "/.status").unwrap();
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    }
    drop(slow);
}

#[test]
fn a_request_that_dribbles_in_is_cut_off_at_the_deadline() {
    use std::io::Read;
    let e = Explorer::start(&["--addr", "127.0.0.1:0"]);
    let mut s = TcpStream::connect(e.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    // One byte every 400 ms: each read is quick, the request never ends.
    for b in b"GET /.status HTTP/1.1\r\nX-Slow: "
        .iter()
        .chain([b'a'; 64].iter())
    {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "still reading the request after 12 s"
        );
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(started.elapsed() >= Duration::from_secs(4), "{text}");
}

/// The TCP ports process `pid` listens on (from /proc: its socket inodes, then
/// /proc/net/tcp and tcp6 entries in state LISTEN).
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            l.to_string_lossy()
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(String::from)
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports.sort();
    ports
}

#[test]
fn the_front_is_the_only_port_it_listens_on() {
    let e = Explorer::start(&["--addr", "127.0.0.1:0"]);
    // The page server that stateright's page was read from is closed at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let ports = listening_ports(e.pid());
        if ports == vec![e.addr.port()] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "listening on {ports:?}, not only on the front's {}",
            e.addr.port()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The page is served all the same, and nothing panicked on the way.
    let page = http(e.addr, "GET", "/").unwrap();
    assert_eq!(page.status, 200);
    let err = e.stderr().join("\n");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("stopped"), "{err}");
}
