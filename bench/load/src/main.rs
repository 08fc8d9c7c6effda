//! The load benchmark: every `/incr` contender side by side, verified, in alternating rounds.
//!
//! ```text
//! cargo run --release -p bench-load -- [--quick] [options]
//!
//!   --quick            one round of 4 s per contender after 1 s of warm-up (about a minute)
//!   --rounds N         rounds of all contenders, alternating (default 3)
//!   --duration SECS    measured seconds per contender and round (default 10)
//!   --warmup SECS      unmeasured seconds before each measurement (default 3)
//!   --users N          virtual users, one keep-alive connection and cookie jar each (default 64)
//!   --only A,B         only these contenders (bare is always added: ratios need it)
//!   --out PATH         results file (default target/bench-results.json)
//!   --no-pin           do not pin the server and the load generator to separate cores
//!   --baseline PATH    also run the contenders of another bench-server binary (say, built from
//!                      an earlier commit), as `<name>@base`, in the same rounds
//! ```
//!
//! It builds `bench-server` (release), starts the backend servers the network stores need on
//! free loopback ports, and measures each contender in turn. The server and its backend run on
//! CPU 0, the load generator on CPU 1. Every response is checked: each user's count must go
//! 0, 1, 2, ... with no gap, or the run is reported as not verified.

mod backends;
mod load;
mod procstat;
mod report;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::backends::{Backend, free_port, pinned, wait_for_port};
use crate::load::{Expect, User, phase};
use crate::report::{Run, Summary, quantile, summarize, table, with_ratios};

/// CPU of the app server and its backend.
const SERVER_CPU: &str = "0";
/// CPU of the load generator.
const LOAD_CPU: &str = "1";

#[derive(Debug, Clone)]
struct Settings {
    rounds: usize,
    duration: Duration,
    warmup: Duration,
    users: usize,
    only: Option<Vec<String>>,
    out: Option<PathBuf>,
    pin: bool,
    baseline: Option<PathBuf>,
}

/// A contender as `bench-server --list` describes it.
#[derive(Debug, Clone)]
struct Contender {
    /// Its name in the results (`<name>@base` for a baseline binary's).
    name: String,
    /// Its name for the server binary.
    serves: String,
    backend: String,
    about: String,
    server: PathBuf,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("bench: some runs were not verified; see the table");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("bench: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("{HELP}");
        return Ok(true);
    }
    let settings = parse_args(std::env::args().skip(1).collect())?;
    let pin = settings.pin && can_pin();
    if pin && std::env::var_os("BENCH_PINNED").is_none() {
        build_server()?;
        return rerun_pinned();
    }
    let server = sibling("bench-server")?;
    let mut contenders = list_contenders(&server, "")?;
    if let Some(baseline) = &settings.baseline {
        // Each baseline contender runs next to its counterpart (after it in odd rounds, before
        // it in even ones), so that a drift in the machine's load between the two is as small
        // as it can be.
        let base = list_contenders(baseline, "@base")?;
        contenders = contenders
            .into_iter()
            .flat_map(|c| {
                let twin = base
                    .iter()
                    .find(|b| b.serves == c.serves && c.serves != "bare");
                std::iter::once(c).chain(twin.cloned())
            })
            .collect();
    }
    let contenders = select(contenders, settings.only.as_deref());
    let cpus = pin.then_some(SERVER_CPU);
    let backends = start_backends(&contenders, cpus)?;
    let load_before = procstat::load_average();
    let runs = measure(&settings, &contenders, &backends, cpus)?;
    let summaries = summarize_all(&contenders, &backends, &runs);
    println!("\n{}", table(&summaries));
    let out = settings.out.clone().unwrap_or_else(default_out);
    write_results(
        &out,
        &settings,
        pin,
        &backends,
        load_before,
        &runs,
        &summaries,
    )?;
    println!("results: {}", out.display());
    Ok(summaries.iter().all(|s| s.verified))
}

fn parse_args(args: Vec<String>) -> Result<Settings, String> {
    let mut s = Settings {
        rounds: 3,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(3),
        users: 64,
        only: None,
        out: None,
        pin: true,
        baseline: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => {
                s.rounds = 1;
                s.duration = Duration::from_secs(4);
                s.warmup = Duration::from_secs(1);
            }
            "--rounds" => s.rounds = number(&value()?)?,
            "--duration" => s.duration = Duration::from_secs_f64(number(&value()?)?),
            "--warmup" => s.warmup = Duration::from_secs_f64(number(&value()?)?),
            "--users" => s.users = number(&value()?)?,
            "--only" => s.only = Some(value()?.split(',').map(str::to_owned).collect()),
            "--out" => s.out = Some(PathBuf::from(value()?)),
            "--no-pin" => s.pin = false,
            "--baseline" => s.baseline = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(s)
}

const HELP: &str = "\
bench: the /incr app on every session store, side by side, every response verified

usage: cargo run --release -p bench-load -- [--quick] [options]

  --quick            one round of 4 s per contender after 1 s of warm-up (about a minute)
  --rounds N         rounds of all contenders, alternating (default 3)
  --duration SECS    measured seconds per contender and round (default 10)
  --warmup SECS      unmeasured seconds before each measurement (default 3)
  --users N          virtual users, one keep-alive connection and cookie jar each (default 64)
  --only A,B         only these contenders (bare is always added: ratios need it)
  --out PATH         results file (default target/bench-results.json)
  --no-pin           do not pin the server and the load generator to separate cores
  --baseline PATH    also run the contenders of another bench-server binary (say, built from
                     an earlier commit), as `<name>@base`, in the same rounds";

const USAGE: &str = "usage: bench [--quick] [--rounds N] [--duration SECS] [--warmup SECS] \
                     [--users N] [--only A,B] [--out PATH] [--no-pin] [--baseline PATH]";

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

/// Pinning needs two CPUs and `taskset`.
fn can_pin() -> bool {
    let ok = online_cpus() >= 2 && backends::which("taskset").is_ok();
    if !ok {
        eprintln!("bench: fewer than 2 CPUs or no taskset: running unpinned");
    }
    ok
}

/// CPUs the kernel runs (`available_parallelism` may count a CPU quota instead).
fn online_cpus() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(1)
}

/// Builds the server binary next to this one (a no-op when it is up to date).
fn build_server() -> Result<(), String> {
    if backends::which("cargo").is_err() {
        return Ok(());
    }
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "-p", "bench-server"])
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| "cargo build -p bench-server failed".into())
}

/// Runs this program again under `taskset` on the load generator's CPU.
fn rerun_pinned() -> Result<bool, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = pinned(Some(LOAD_CPU), exe)
        .args(std::env::args().skip(1))
        .env("BENCH_PINNED", "1")
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    Ok(status.success())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A binary built into the same directory as this one.
fn sibling(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name(name);
    path.exists().then_some(path.clone()).ok_or_else(|| {
        format!(
            "{} is missing: cargo build --release -p bench-server",
            path.display()
        )
    })
}

fn default_out() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("bench-results.json")))
        .unwrap_or_else(|| PathBuf::from("bench-results.json"))
}

/// The contenders `server` offers, their names followed by `suffix`.
fn list_contenders(server: &Path, suffix: &str) -> Result<Vec<Contender>, String> {
    let output = Command::new(server)
        .arg("--list")
        .output()
        .map_err(|e| format!("{}: {e}", server.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let serves = parts.next()?.to_owned();
            Some(Contender {
                name: format!("{serves}{suffix}"),
                serves,
                backend: parts.next()?.to_owned(),
                about: parts.next()?.to_owned(),
                server: server.to_owned(),
            })
        })
        .collect())
}

fn select(all: Vec<Contender>, only: Option<&[String]>) -> Vec<Contender> {
    let Some(only) = only else { return all };
    all.into_iter()
        .filter(|c| c.name == "bare" || only.contains(&c.serves) || only.contains(&c.name))
        .collect()
}

/// Starts each backend the contenders need, once. One that fails is reported and its
/// contenders are skipped.
fn start_backends(
    contenders: &[Contender],
    cpus: Option<&str>,
) -> Result<Vec<(String, Backend)>, String> {
    let mut kinds: Vec<&str> = contenders
        .iter()
        .map(|c| c.backend.as_str())
        .filter(|b| *b != "none")
        .collect();
    kinds.dedup();
    let mut started = Vec::new();
    for kind in kinds {
        if started.iter().any(|(k, _)| k == kind) {
            continue;
        }
        match backends::start(kind, cpus, &workspace_root()) {
            Ok(backend) => {
                eprintln!("bench: {kind} ({}) at {}", backend.version, backend.url);
                started.push((kind.to_owned(), backend));
            }
            Err(err) => eprintln!("bench: skipping contenders on {kind}: {err}"),
        }
    }
    Ok(started)
}

fn backend_of<'a>(backends: &'a [(String, Backend)], kind: &str) -> Option<&'a Backend> {
    backends.iter().find(|(k, _)| k == kind).map(|(_, b)| b)
}

fn runnable<'a>(
    contenders: &'a [Contender],
    backends: &'a [(String, Backend)],
) -> impl Iterator<Item = &'a Contender> {
    contenders
        .iter()
        .filter(|c| c.backend == "none" || backend_of(backends, &c.backend).is_some())
}

/// In place, puts each baseline contender (`<name>@base`) before its counterpart instead of
/// after: alternate rounds do this, so that whatever favours the first (or second) of two
/// back-to-back runs favours each side equally.
fn swap_twins(order: &mut [&Contender]) {
    let mut i = 0;
    while i + 1 < order.len() {
        if order[i + 1].name == format!("{}@base", order[i].name) {
            order.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
}

/// All rounds: every contender once per round; a baseline twin runs after its counterpart in
/// odd rounds and before it in even ones.
fn measure(
    settings: &Settings,
    contenders: &[Contender],
    backends: &[(String, Backend)],
    cpus: Option<&str>,
) -> Result<Vec<Run>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for round in 1..=settings.rounds {
        let mut order: Vec<&Contender> = runnable(contenders, backends).collect();
        if round % 2 == 0 {
            swap_twins(&mut order);
        }
        for contender in order {
            let backend = backend_of(backends, &contender.backend);
            let run = measure_one(&runtime, settings, contender, backend, cpus, round)?;
            eprintln!(
                "round {round} {:<13} {:>7.0} req/s  server {:>5.1} µs/req  backend {:>5.1} µs/req  {}",
                run.contender,
                run.req_per_s,
                run.server_cpu_us_per_req,
                run.backend_cpu_us_per_req,
                if run.is_valid() {
                    "verified".to_owned()
                } else {
                    format!("NOT VERIFIED: {} errors, {:?}", run.errors, run.failures)
                }
            );
            runs.push(run);
        }
    }
    Ok(runs)
}

/// Starts the contender's server, warms it up, measures it and stops it.
fn measure_one(
    runtime: &tokio::runtime::Runtime,
    settings: &Settings,
    contender: &Contender,
    backend: Option<&Backend>,
    cpus: Option<&str>,
    round: usize,
) -> Result<Run, String> {
    let port = free_port()?;
    let server = &contender.server;
    let mut child = pinned(cpus, server)
        .arg(&contender.serves)
        .arg(port.to_string())
        .args(backend.map(|b| b.url.clone()))
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", server.display()))?;
    let result = (|| {
        wait_for_port(port, &mut child, Duration::from_secs(60))
            .map_err(|e| format!("{}: {e}", contender.name))?;
        Ok(drive(
            runtime,
            settings,
            contender,
            backend,
            child.id(),
            port,
            round,
        ))
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Warm-up, then the measured phase with CPU read before and after.
fn drive(
    runtime: &tokio::runtime::Runtime,
    settings: &Settings,
    contender: &Contender,
    backend: Option<&Backend>,
    pid: u32,
    port: u16,
    round: usize,
) -> Run {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let expect = if contender.serves == "bare" {
        Expect::Zero
    } else {
        Expect::Counting
    };
    let mut users: Vec<User> = (0..settings.users)
        .map(|_| User::new(addr, expect))
        .collect();
    let warm = runtime.block_on(phase(&mut users, Instant::now() + settings.warmup));
    let cpu = |pid: u32| procstat::cpu_time(pid).unwrap_or_default();
    // A Cluster's CPU time is its nodes' together.
    let backend_cpu_time = |b: &Backend| b.pids().into_iter().map(cpu).sum::<Duration>();
    let (server_before, backend_before) = (cpu(pid), backend.map(backend_cpu_time));
    let load_before = cpu(std::process::id());
    let started = Instant::now();
    let mut stats = runtime.block_on(phase(&mut users, started + settings.duration));
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu = cpu(pid).saturating_sub(server_before);
    let backend_cpu = backend
        .zip(backend_before)
        .map_or(Duration::ZERO, |(b, before)| {
            backend_cpu_time(b).saturating_sub(before)
        });
    let load_cpu = cpu(std::process::id()).saturating_sub(load_before);
    stats.latencies_us.sort_unstable();
    let per_req = |d: Duration| d.as_secs_f64() * 1e6 / stats.requests.max(1) as f64;
    let mut failures = warm.failures;
    failures.extend(stats.failures);
    Run {
        contender: contender.name.clone(),
        round,
        requests: stats.requests,
        seconds,
        req_per_s: stats.requests as f64 / seconds,
        p50_us: quantile(&stats.latencies_us, 0.50),
        p99_us: quantile(&stats.latencies_us, 0.99),
        server_cpu_us_per_req: per_req(server_cpu),
        backend_cpu_us_per_req: per_req(backend_cpu),
        load_cpu_us_per_req: per_req(load_cpu),
        peak_rss_kib: procstat::peak_rss_kib(pid).unwrap_or(0),
        errors: warm.errors + stats.errors,
        failures,
    }
}

fn summarize_all(
    contenders: &[Contender],
    backends: &[(String, Backend)],
    runs: &[Run],
) -> Vec<Summary> {
    let summaries = runnable(contenders, backends)
        .map(|c| {
            let mine: Vec<&Run> = runs.iter().filter(|r| r.contender == c.name).collect();
            summarize(&c.name, &c.about, &c.backend, &mine)
        })
        .collect();
    with_ratios(summaries)
}

fn write_results(
    out: &Path,
    settings: &Settings,
    pinned: bool,
    backends: &[(String, Backend)],
    load_before: Option<f64>,
    runs: &[Run],
    summaries: &[Summary],
) -> Result<(), String> {
    let results = json!({
        "machine": machine(),
        "load_average_1m": { "before": load_before, "after": procstat::load_average() },
        "settings": {
            "rounds": settings.rounds,
            "measured_seconds": settings.duration.as_secs_f64(),
            "warmup_seconds": settings.warmup.as_secs_f64(),
            "virtual_users": settings.users,
            "pinned": pinned.then_some(json!({ "server_and_backend_cpu": SERVER_CPU, "load_cpu": LOAD_CPU })),
            "server_workers": 1,
        },
        "backends": backends.iter().map(|(k, b)| json!({ "kind": k, "version": b.version })).collect::<Vec<_>>(),
        "summary": summaries,
        "runs": runs,
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(out, text + "\n").map_err(|e| format!("{}: {e}", out.display()))
}

/// What the numbers were measured on.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned());
    let first_line = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|t| t.trim().to_owned())
    };
    let commit = Command::new("git")
        .args([
            "describe",
            "--always",
            "--dirty=+uncommitted-changes",
            "--exclude=*",
        ])
        .current_dir(workspace_root())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|t| t.trim().to_owned());
    json!({
        "commit": commit,
        "cpu": model,
        "cpus": online_cpus(),
        "kernel": first_line("uname", "-r"),
        "rustc": first_line("rustc", "--version"),
        "date": first_line("date", "-u"),
    })
}
