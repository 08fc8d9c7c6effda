//! The servers network stores need: started here, on free loopback ports, pinned to the
//! server core, and stopped when the benchmark ends.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running backend: one server, or the nodes of a Redis Cluster.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) url: String,
    pub(crate) version: String,
    children: Vec<Child>,
    scratch: Option<PathBuf>,
}

impl Backend {
    /// The processes whose CPU time is the backend's.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A command, run under `taskset -c <cpus>` when `cpus` is given.
pub(crate) fn pinned(cpus: Option<&str>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Starts the backend named `kind` (`redis`, `redis-cluster`, `memcached` or `mongo`).
pub(crate) fn start(kind: &str, cpus: Option<&str>, root: &Path) -> Result<Backend, String> {
    if kind == "redis-cluster" {
        return redis_cluster(cpus);
    }
    let port = free_port()?;
    let (mut command, url, scratch) = match kind {
        "redis" => redis(cpus, port),
        "memcached" => memcached(cpus, port),
        "mongo" => mongo(cpus, port, root)?,
        other => return Err(format!("no backend named {other}")),
    };
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {kind} ({:?}): {e}", command.get_program()))?;
    let mut backend = Backend {
        url,
        version: version_of(kind, root),
        children: vec![child],
        scratch,
    };
    wait_for_port(port, &mut backend.children[0], Duration::from_secs(60))
        .map_err(|e| format!("{kind}: {e}"))?;
    Ok(backend)
}

/// Primaries of the benchmark's Redis Cluster: as many as the smallest production cluster,
/// without replicas (replication would add its own CPU time on the server's core).
const CLUSTER_NODES: usize = 3;

/// A Redis Cluster of [`CLUSTER_NODES`] primaries, its slots spread by `redis-cli`.
fn redis_cluster(cpus: Option<&str>) -> Result<Backend, String> {
    let scratch = std::env::temp_dir().join(format!("bench-redis-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let mut backend = Backend {
        url: String::new(),
        version: version_of("redis", Path::new(".")),
        children: Vec::new(),
        scratch: Some(scratch.clone()),
    };
    let mut nodes = Vec::new();
    for node in 0..CLUSTER_NODES {
        let port = free_port()?;
        let (mut command, _, _) = redis(cpus, port);
        command.arg("--cluster-enabled").arg("yes");
        command
            .arg("--cluster-config-file")
            .arg(scratch.join(format!("nodes-{node}.conf")));
        command.arg("--dir").arg(&scratch);
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        backend.children.push(child);
        wait_for_port(
            port,
            backend.children.last_mut().unwrap(),
            Duration::from_secs(60),
        )
        .map_err(|e| format!("redis-cluster: {e}"))?;
        nodes.push(format!("127.0.0.1:{port}"));
    }
    let created = Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("redis-cli: {e}"))?;
    if !created.success() {
        return Err("redis-cli --cluster create failed".into());
    }
    for node in &nodes {
        wait_for_cluster(node)?;
    }
    backend.url = format!("redis+cluster://{}", nodes.join(","));
    Ok(backend)
}

/// Waits until the node at `address` reports the cluster up.
fn wait_for_cluster(address: &str) -> Result<(), String> {
    let (host, port) = address.split_once(':').unwrap_or((address, "6379"));
    let started = Instant::now();
    loop {
        let info = Command::new("redis-cli")
            .args(["-h", host, "-p", port, "cluster", "info"])
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("the cluster node {address} is not up after 60 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn redis(cpus: Option<&str>, port: u16) -> (Command, String, Option<PathBuf>) {
    let mut command = pinned(cpus, "redis-server");
    command.args(["--bind", "127.0.0.1", "--port", &port.to_string()]);
    command.args(["--save", "", "--appendonly", "no", "--daemonize", "no"]);
    (command, format!("redis://127.0.0.1:{port}"), None)
}

fn memcached(cpus: Option<&str>, port: u16) -> (Command, String, Option<PathBuf>) {
    let mut command = pinned(cpus, "memcached");
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    // One worker thread: the backend shares one core with the app server.
    command.args([
        "-l",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-U",
        "0",
        "-m",
        "256",
        "-t",
        "1",
    ]);
    command.args(["-u", &user]);
    (command, format!("memcache://127.0.0.1:{port}"), None)
}

/// `mongod` when installed, else SecantusDB (a MongoDB-wire server) from the venv that
/// `scripts/services.sh start` installs.
fn mongo(
    cpus: Option<&str>,
    port: u16,
    root: &Path,
) -> Result<(Command, String, Option<PathBuf>), String> {
    let url = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    if let Ok(mongod) = which("mongod") {
        let dir = std::env::temp_dir().join(format!("bench-mongo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut command = pinned(cpus, mongod);
        command.args([
            "--bind_ip",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--quiet",
        ]);
        command.arg("--dbpath").arg(&dir);
        return Ok((command, url, Some(dir)));
    }
    let python = root.join(".services/mongo-venv/bin/python");
    if !python.exists() {
        return Err(
            "no mongod on PATH and no SecantusDB venv: run scripts/services.sh start once".into(),
        );
    }
    let mut command = pinned(cpus, python);
    command.args(["-c", SECANTUS_LAUNCHER, "127.0.0.1", &port.to_string()]);
    Ok((command, url, None))
}

const SECANTUS_LAUNCHER: &str = r#"
import signal, sys
from secantus import SecantusDBServer
server = SecantusDBServer(host=sys.argv[1], port=int(sys.argv[2]), storage_path=":memory:",
    replica_set_name=None, enable_test_commands=False, ttl_sweep_seconds=60.0, cache_size="256M")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server.start()
try:
    server.wait()
finally:
    server.stop()
"#;

fn version_of(kind: &str, root: &Path) -> String {
    let output = match kind {
        "redis" => Command::new("redis-server").arg("--version").output(),
        "memcached" => Command::new("memcached").arg("-V").output(),
        _ if which("mongod").is_ok() => Command::new("mongod").arg("--version").output(),
        _ => Command::new(root.join(".services/mongo-venv/bin/python"))
            .args([
                "-c",
                "import secantus; print('SecantusDB', secantus.__version__)",
            ])
            .output(),
    };
    output
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_default()
}

/// The path of `program` on `PATH`.
pub(crate) fn which(program: &str) -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("{program} is not on PATH"))
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Waits until `port` accepts connections, failing early if `child` exits.
pub(crate) fn wait_for_port(port: u16, child: &mut Child, limit: Duration) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status} before listening on {port}"));
        }
        if started.elapsed() > limit {
            return Err(format!("nothing listens on {port} after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
