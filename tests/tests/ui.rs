//! The web UI (issue 11) end to end, in headless Chromium through WebDriver.
//!
//! Against a dev agent: the jobs list opens; a job is run from the UI (HCL pasted, plan
//! shown, submitted); its allocation becomes running; it is scaled (plan first) and its
//! versions show the diff; the allocation page shows a line the task printed in its live
//! logs, and pause holds the output; the nodes, node and servers pages show the agent; the
//! job is stopped from the UI; the node is drained and made eligible from its page. A canary
//! deployment is promoted from the job page. With ACLs on: a token limited to one namespace
//! signs in and sees that namespace's job and not another's, and a "not allowed" state where
//! it may not look. Every page visited is checked for accessibility (ui/a11y.js); the main
//! ones are saved as screenshots in `target/ui-screenshots/`.
//!
//! Without Chromium and chromedriver these tests fail when `CI=true` and are skipped
//! otherwise.

#[path = "ui/browser.rs"]
mod browser;

use std::time::{Duration, Instant};

use browser::Browser;
use nomadish_tests::acl::AclCluster;
use nomadish_tests::{Agent, AgentKind, Api, wait_until};
use serde_json::Value;

/// Longest wait for a page to show what it should.
const PAGE: Duration = Duration::from_secs(20);
/// Longest wait for the scheduler and the client (a job placed and running, logs written).
const RUNNING: Duration = Duration::from_secs(60);
/// Only one browser at a time: the machines have two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The line the job prints, and the job itself (raw_exec, as the dev agent enables).
const MARKER: &str = "ui-e2e-marker-line";
fn ticker_hcl() -> String {
    format!(
        r#"job "ui-ticker" {{
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "i=0; while true; do i=$((i+1)); echo {MARKER} $i; sleep 0.5; done"]
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

/// Time to the first byte and size of `/ui/`, and the headers every UI answer carries.
async fn measure_and_check_index(base: &str) {
    nomadish_tests::install_crypto();
    let http = reqwest::Client::new();
    let mut best = Duration::MAX;
    let mut size = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let r = http
            .get(format!("{base}/ui/"))
            .send()
            .await
            .expect("GET /ui/");
        best = best.min(started.elapsed());
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let h = r.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        let csp = h["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert!(h.contains_key("etag") && h.contains_key("cache-control"));
        size = r.bytes().await.expect("body").len();
    }
    let mut total = size;
    for file in [
        "style.css",
        "app.js",
        "api.js",
        "jobs.js",
        "plan.js",
        "job.js",
        "alloc.js",
        "nodes.js",
        "cluster.js",
    ] {
        let r = http
            .get(format!("{base}/ui/{file}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{file}");
        total += r.bytes().await.expect("body").len();
    }
    eprintln!(
        "UI /ui/: time to first byte {:.2} ms (best of 5), {size} bytes; all files {total} bytes",
        best.as_secs_f64() * 1000.0
    );
}

/// Checks the page shown: labelled controls, named buttons and links, contrast of at least
/// 4.5:1 for visible text (ui/a11y.js), and a skip link as the first stop of the keyboard.
async fn assert_accessible(b: &Browser, page: &str) {
    let problems = b.script(include_str!("ui/a11y.js")).await;
    let problems = problems.as_array().expect("a list");
    assert!(problems.is_empty(), "{page}: {problems:#?}");
}

/// How many fresh loads of the jobs list the paint figures are taken over.
const PAINT_SAMPLES: usize = 7;
/// The page's paint and navigation timings (ms since navigation start).
const TIMINGS: &str = "const n = performance.getEntriesByType('navigation')[0] || {}; \
     const p = performance.getEntriesByName('first-contentful-paint')[0]; \
     return { fcp: p ? p.startTime : null, ttfb: n.responseStart - n.requestStart, \
              dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd };";

/// Chromium's first contentful paint of the jobs list over a few full page loads (the
/// first one is a cold browser): printed as min / median / max, the median asserted.
async fn report_paint(b: &Browser, base: &str) {
    let mut fcp = Vec::new();
    for i in 0..PAINT_SAMPLES {
        // A new query string makes each a full load, not a same-document hash change.
        b.goto(&format!("{base}/ui/?load={i}#/jobs?namespace=default"))
            .await;
        b.text_contains("#jobs-body", "No jobs", PAGE).await;
        // The paint entry is recorded a moment after the frame: look again until it is.
        let v = wait_until("a first-contentful-paint entry", PAGE, async || {
            let v = b.script(TIMINGS).await;
            v["fcp"].is_number().then_some(v)
        })
        .await;
        if i == 0 {
            eprintln!("UI timings in Chromium, first load (ms): {v}");
        }
        fcp.push(v["fcp"].as_f64().expect("a number"));
    }
    let mut sorted = fcp.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    eprintln!(
        "UI first contentful paint over {PAINT_SAMPLES} loads (ms): min {:.0}, median {median:.0}, max {:.0} ({fcp:?})",
        sorted[0],
        sorted[sorted.len() - 1]
    );
    // The issue's target is 200 ms; a loaded CI machine gets some slack before failing.
    assert!(median < 1000.0, "median first contentful paint {median} ms");
}

#[tokio::test]
async fn run_a_job_watch_its_logs_and_stop_it_from_the_ui() {
    let _one = ONE_BROWSER.lock().await;
    let dir = nomadish_tests::test_dir();
    let Some(b) = Browser::start("ui", dir.path()).await else {
        return;
    };
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let base = agent.http.clone();
    measure_and_check_index(&base).await;

    // The jobs list, empty, and its first paint.
    b.goto(&format!("{base}/ui/#/jobs?namespace=default")).await;
    b.text_contains("#jobs-body", "No jobs in namespace default", PAGE)
        .await;
    report_paint(&b, &base).await;

    // Run a job: HCL pasted, the plan shown, then submitted.
    b.click("#run-job", PAGE).await;
    b.type_into("#jobspec", &ticker_hcl(), PAGE).await;
    b.click("#plan-job", PAGE).await;
    let plan = b.text_contains("#plan-out", "place 1", PAGE).await;
    assert!(plan.contains("ui-ticker"), "{plan}");
    b.screenshot("run-plan").await;
    b.click("#plan-confirm", PAGE).await;

    // The job page: its allocation becomes running without a reload.
    b.text_contains("#job-id", "ui-ticker", PAGE).await;
    b.element("#job-allocs tr[data-status='running']", RUNNING)
        .await;
    b.text_contains("#groups-table", "g", PAGE).await;
    b.text_contains("#job-versions", "Version 0", PAGE).await;
    b.screenshot("job").await;
    assert_accessible(&b, "job").await;

    // Scale from the UI: the plan first, then two running allocations and a version 1
    // whose diff shows the count.
    let count = b.element("#scale-count", PAGE).await;
    count.clear().await.expect("clear count");
    count.send_keys("2").await.expect("count");
    b.click("#scale-plan", PAGE).await;
    b.text_contains("#action-out", "place 1", PAGE).await;
    b.text_contains("#action-out", "Count", PAGE).await;
    b.screenshot("scale-plan").await;
    b.click("#plan-confirm", PAGE).await;
    b.text_contains("#action-out", "scaled to 2", PAGE).await;
    b.text_contains("#groups-table tr[data-group='g']", "2 2 2", RUNNING)
        .await;
    b.text_contains("#job-versions", "Version 1", PAGE).await;
    b.click("#job-versions details summary", PAGE).await;
    b.text_contains("#job-versions", "Count: 1 → 2", PAGE).await;
    // Edit as JSON: the job as it is plans to no change.
    b.click("#job-edit", PAGE).await;
    let spec = b.element("#jobspec", PAGE).await;
    let text = spec.prop("value").await.expect("value").unwrap_or_default();
    assert!(text.contains("\"ui-ticker\""), "{text}");
    b.click("#plan-job", PAGE).await;
    b.text_contains("#plan-out", "No changes", PAGE).await;
    b.goto(&format!("{base}/ui/#/job/default/ui-ticker")).await;

    // The jobs list shows it, with its running allocations; the search box filters.
    b.goto(&format!("{base}/ui/#/jobs?namespace=default")).await;
    b.text_contains("tr[data-job='ui-ticker']", "2 running", PAGE)
        .await;
    b.screenshot("jobs").await;
    assert_accessible(&b, "jobs").await;
    b.type_into("#job-search", "no-such", PAGE).await;
    b.text_contains("#jobs-body", "No job matches", PAGE).await;

    // The allocation page: the printed line in the live logs.
    b.goto(&format!("{base}/ui/#/job/default/ui-ticker")).await;
    b.click("#job-allocs tr[data-status='running'] a", PAGE)
        .await;
    b.text_contains("#alloc-tasks", "Started", PAGE).await;
    b.text_contains("#logs", MARKER, RUNNING).await;
    // Live: new lines arrive; paused, they wait; resumed, they show.
    let first = b.text("#logs").await.len();
    b.text_contains("#log-state", "Following", PAGE).await;
    wait_until("more log lines", PAGE, async || {
        (b.text("#logs").await.len() > first).then_some(())
    })
    .await;
    b.screenshot("alloc").await;
    assert_accessible(&b, "alloc").await;
    b.click("#log-pause", PAGE).await;
    let held = b.text("#logs").await.len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        b.text("#logs").await.len(),
        held,
        "output shown while paused"
    );
    b.text_contains("#log-state", "waiting", PAGE).await;
    b.click("#log-pause", PAGE).await;
    wait_until("the held lines", PAGE, async || {
        (b.text("#logs").await.len() > held).then_some(())
    })
    .await;
    // Restart its tasks from the page: the timeline shows it.
    b.click("#alloc-restart", PAGE).await;
    b.click("#alloc-confirm", PAGE).await;
    b.text_contains("#alloc-out", "Tasks restarted", PAGE).await;
    b.text_contains("#alloc-tasks", "Restart Signaled", PAGE)
        .await;
    b.text_contains("#alloc-tasks", "restarts 1", RUNNING).await;
    // stderr: the task wrote nothing there.
    b.click("input[name='log-type'][value='stderr']", PAGE)
        .await;
    b.text_contains("#log-state", "stderr", PAGE).await;
    assert!(!b.text("#logs").await.contains(MARKER));

    let api = agent.api();

    // Nodes, one node, servers.
    b.goto(&format!("{base}/ui/#/nodes")).await;
    b.text_contains("#nodes-table", "ready", PAGE).await;
    b.screenshot("nodes").await;
    assert_accessible(&b, "nodes").await;
    b.click("#nodes-table tbody a", PAGE).await;
    b.text_contains("#drivers-table", "raw_exec", PAGE).await;
    b.text_contains("#node-allocs", "ui-ticker", PAGE).await;
    b.screenshot("node").await;
    assert_accessible(&b, "node").await;
    // Eligibility from the node page, and back.
    b.click("#node-eligibility", PAGE).await;
    b.text_contains("#node-facts", "ineligible", PAGE).await;
    let node = api.get_ok("/v1/nodes").await;
    assert_eq!(node[0]["SchedulingEligibility"], "ineligible", "{node}");
    b.text_contains("#node-eligibility", "Mark eligible", PAGE)
        .await;
    b.click("#node-eligibility", PAGE).await;
    b.text_contains("#node-eligibility", "Mark ineligible", PAGE)
        .await;
    b.goto(&format!("{base}/ui/#/servers")).await;
    b.text_contains("#servers-table", "leader", PAGE).await;
    b.text_contains("#leader", "Leader", PAGE).await;
    b.screenshot("servers").await;
    assert_accessible(&b, "servers").await;

    // A job that cannot be placed: its evaluation says why, in words.
    let nofit = ticker_hcl()
        .replace("ui-ticker", "ui-nofit")
        .replace("memory = 16", "memory = 99999999");
    nomadish_tests::run_job(&agent, dir.path(), "ui-nofit", &nofit);
    b.goto(&format!("{base}/ui/#/job/default/ui-nofit")).await;
    let evals = b
        .text_contains("#job-evals", "could not be placed", RUNNING)
        .await;
    assert!(evals.contains("without enough memory"), "{evals}");
    b.text_contains("#groups-table tr[data-group='g']", "g 1 0 0 0 1", PAGE)
        .await;
    b.screenshot("job-placement-failure").await;
    assert_accessible(&b, "job-placement-failure").await;

    // Stop the job from its page.
    b.goto(&format!("{base}/ui/#/job/default/ui-ticker")).await;
    b.click("#job-stop", PAGE).await;
    b.click("#stop-confirm", PAGE).await;
    b.text_contains("#action-out", "Job stopped", PAGE).await;
    b.text_contains("#job-status", "stopped", PAGE).await;
    let job = api.get_ok("/v1/job/ui-ticker").await;
    assert_eq!(job["Stop"], Value::Bool(true), "{job}");
    wait_until("the allocation stopped", RUNNING, async || {
        let allocs = api.get_ok("/v1/job/ui-ticker/allocations").await;
        allocs
            .as_array()?
            .iter()
            .all(|a| a["ClientStatus"] != "running")
            .then_some(())
    })
    .await;
    b.element("#job-allocs tr[data-status='complete']", RUNNING)
        .await;

    // Drain the node from its page: nothing runs there now, so the drain completes at once
    // and leaves the node ineligible; then make it eligible again.
    b.goto(&format!("{base}/ui/#/nodes")).await;
    b.click("#nodes-table tbody a", PAGE).await;
    b.text_contains("#node-facts", " eligible", PAGE).await;
    b.click("#node-drain", PAGE).await;
    b.text_contains("#node-out", "Drain started", PAGE).await;
    b.text_contains("#node-facts", "ineligible", PAGE).await;
    let node = api.get_ok("/v1/nodes").await;
    assert_eq!(node[0]["SchedulingEligibility"], "ineligible", "{node}");
    b.click("#node-eligibility", PAGE).await;
    b.text_contains("#node-out", "marked eligible", PAGE).await;
    let node = api.get_ok("/v1/nodes").await;
    assert_eq!(node[0]["SchedulingEligibility"], "eligible", "{node}");
    b.close().await;
}

#[tokio::test]
async fn a_token_limited_to_one_namespace_sees_only_its_jobs() {
    let _one = ONE_BROWSER.lock().await;
    let dir = nomadish_tests::test_dir();
    let Some(b) = Browser::start("ui acl", dir.path()).await else {
        return;
    };
    let c = AclCluster::start(dir.path()).await;
    let base = c.server.http.clone();

    // The UI's files need no token, on the server and on the client-only agent; the API does.
    for agent in [&c.server, &c.client] {
        let api = Api::new(&agent.http).with_token("6f1f2b0c-0000-4000-8000-000000000000");
        let (code, text) = api.get_text("/ui/").await;
        assert_eq!(code, reqwest::StatusCode::OK, "{}: {text}", agent.http);
        assert!(text.contains("/ui/app.js"));
    }
    let (code, _) = Api::new(&base).get_text("/v1/jobs?namespace=team-a").await;
    assert_eq!(code, reqwest::StatusCode::FORBIDDEN);

    // Anonymous: not allowed.
    b.goto(&format!("{base}/ui/#/jobs?namespace=team-a")).await;
    b.text_contains("#jobs-body", "Not allowed", PAGE).await;

    // Sign in with the token that reads team-a.
    b.goto(&format!("{base}/ui/#/signin")).await;
    b.type_into("#token-secret", &c.read_a.secret, PAGE).await;
    b.click("#signin", PAGE).await;
    b.text_contains("#token-self", "a-read", PAGE).await;
    b.text_contains("#whoami", "a-read", PAGE).await;
    b.screenshot("signin").await;
    assert_accessible(&b, "signin").await;

    // team-a's job, never team-b's: in team-a, in "all namespaces", and team-b is refused.
    b.goto(&format!("{base}/ui/#/jobs?namespace=team-a")).await;
    b.text_contains("tr[data-job='web-a']", "running", PAGE)
        .await;
    assert!(!b.text("#jobs-body").await.contains("web-b"));
    b.goto(&format!("{base}/ui/#/jobs?namespace=*")).await;
    b.text_contains("#jobs-table", "web-a", PAGE).await;
    let all = b.text("#jobs-body").await;
    assert!(!all.contains("web-b") && !all.contains("team-b"), "{all}");
    let options = b.text("#ns-select").await;
    assert!(
        !options.contains("team-b"),
        "namespace switcher offers team-b: {options}"
    );
    b.goto(&format!("{base}/ui/#/jobs?namespace=team-b")).await;
    b.text_contains("#jobs-body", "Not allowed", PAGE).await;
    assert!(!b.text("#jobs-body").await.contains("web-b"));
    b.screenshot("jobs-not-allowed").await;
    assert_accessible(&b, "jobs-not-allowed").await;
    b.goto(&format!("{base}/ui/#/job/team-b/web-b")).await;
    b.text_contains("#job-groups", "Not allowed", PAGE).await;
    b.goto(&format!("{base}/ui/#/nodes")).await;
    b.text_contains("#nodes-body", "Not allowed", PAGE).await;

    // Signed out, the page is anonymous again.
    b.goto(&format!("{base}/ui/#/signin")).await;
    b.click("#signout", PAGE).await;
    b.text_contains("#token-info", "Not signed in", PAGE).await;
    b.text_contains("#whoami", "Sign in", PAGE).await;
    b.close().await;
}

/// A service job with one canary per update.
fn canary_hcl(line: &str) -> String {
    format!(
        r#"job "ui-canary" {{
  group "app" {{
    update {{
      max_parallel      = 1
      canary            = 1
      min_healthy_time  = "1s"
      healthy_deadline  = "30s"
      progress_deadline = "2m"
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo {line}; while true; do sleep 1; done"]
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

/// The latest deployment of `ui-canary`, once `ready` accepts it.
async fn deployment_when(api: &Api, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    wait_until(what, RUNNING, async || {
        let d = api.get_ok("/v1/job/ui-canary/deployment").await;
        ready(&d).then_some(d)
    })
    .await
}

#[tokio::test]
async fn a_canary_deployment_is_promoted_from_the_job_page() {
    let _one = ONE_BROWSER.lock().await;
    let dir = nomadish_tests::test_dir();
    let Some(b) = Browser::start("ui deployment", dir.path()).await else {
        return;
    };
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    nomadish_tests::run_job(&agent, dir.path(), "v0", &canary_hcl("v0"));
    deployment_when(&api, "version 0 deployed", |d| {
        d["JobVersion"] == 0 && d["Status"] == "successful"
    })
    .await;
    nomadish_tests::run_job(&agent, dir.path(), "v1", &canary_hcl("v1"));
    // The canary must be healthy before it can be promoted.
    deployment_when(&api, "a healthy canary", |d| {
        d["JobVersion"] == 1 && d["TaskGroups"]["app"]["HealthyAllocs"].as_u64() >= Some(1)
    })
    .await;

    b.goto(&format!("{}/ui/#/job/default/ui-canary", agent.http))
        .await;
    b.text_contains("#job-deployment", "job version 1", PAGE)
        .await;
    b.text_contains("#job-deployment", "1 / 1", PAGE).await;
    b.element("#job-deployment .dep-promote", PAGE).await;
    b.screenshot("deployment").await;
    assert_accessible(&b, "deployment").await;
    b.click("#job-deployment .dep-promote", PAGE).await;
    b.text_contains("#job-deployment", "successful", RUNNING)
        .await;
    let d = api.get_ok("/v1/job/ui-canary/deployment").await;
    assert_eq!(d["Status"], "successful", "{d}");
    assert_eq!(d["TaskGroups"]["app"]["Promoted"], true, "{d}");
    b.close().await;
}
