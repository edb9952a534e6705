//! A real PostgreSQL server (the binaries of Debian's `postgresql` package,
//! installed by scripts/setup.sh) on a free port of 127.0.0.1, with its data
//! in a temporary directory under /tmp. initdb and postgres refuse to run as
//! root, so as root they run as the `postgres` user.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The server's superuser (trusted, no password), named in every URL.
const USER: &str = "wolfe";

/// A private PostgreSQL server for one test binary (or test), on a free
/// loopback port, in a temp dir. Dropping it stops the server and removes
/// its data; a server kept in a `static` is never dropped, so it outlives
/// its test binary.
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    /// The postmaster, while it runs.
    child: Option<Child>,
    bin: PathBuf,
    as_postgres_user: bool,
    /// fsync on, as in production (benchmarks); tests run without it.
    durable: bool,
}

impl Postgres {
    /// Starts a server: initdb into a temp dir, then the postmaster as a
    /// direct child; returns once it accepts connections.
    pub fn start() -> Postgres {
        Self::start_with(false)
    }

    /// A server that syncs its commits to disk as a production one does,
    /// for benchmarks.
    #[allow(dead_code)]
    pub fn start_durable() -> Postgres {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Postgres {
        let bin = bin_dir();
        let as_postgres_user = unsafe { libc::geteuid() } == 0;
        // Under /tmp rather than the target dir: the `postgres` user must be
        // able to traverse every parent, and the socket's path must stay
        // under 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("wolfe-pg-")
            .tempdir_in("/tmp")
            .expect("create a temporary directory for PostgreSQL");
        if as_postgres_user {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let mut server = Postgres {
            dir,
            port: free_port(),
            child: None,
            bin,
            as_postgres_user,
            durable,
        };
        let mut initdb = server.server_command("initdb");
        initdb.arg("-D").arg(server.data_dir()).args([
            "-A",
            "trust",
            "-U",
            USER,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        run(&mut initdb);
        server.spawn();
        server
    }

    /// A fresh empty database on this server; returns its URL,
    /// `postgres://wolfe@127.0.0.1:PORT/NAME`.
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "database name {name:?}: use letters, digits and _ (the URL is not escaped)"
        );
        run(Command::new(self.bin.join("createdb")).args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            USER,
            name,
        ]));
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (SIGINT: a fast shutdown, which does not wait for
    /// connected clients) and waits for it to exit. Does nothing when it is
    /// not running.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal(&child, libc::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(60);
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                // Immediate shutdown: the postmaster takes its backends with it.
                eprintln!("postgres on port {} ignored SIGINT for 60 s", self.port);
                signal(&child, libc::SIGQUIT);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.wait();
    }

    /// Starts it again on the same data dir and port (stopping it first if it
    /// runs), for restart tests.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Starts a [stopped](Self::stop) server again on the same data dir and
    /// port, for tests that keep it down a while in between; returns once it
    /// accepts connections.
    pub fn start_again(&mut self) {
        assert!(
            self.child.is_none(),
            "postgres on port {} still runs",
            self.port
        );
        self.spawn();
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// The server's output so far (initdb's is in a failed run's panic).
    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A server program (initdb, postgres), run as the `postgres` user when we
    /// are root. setpriv execs it, so the child's PID is the program's own.
    fn server_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut setpriv = Command::new("setpriv");
            setpriv
                .args([
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--init-groups",
                    "--",
                ])
                .arg(program);
            setpriv
        } else {
            Command::new(program)
        };
        // The test's working directory may be one `postgres` cannot enter.
        command.current_dir(self.dir.path());
        command
    }

    /// Starts the postmaster, its output appended to the log, and waits until
    /// it accepts connections.
    fn spawn(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open the PostgreSQL log");
        let child = self
            .server_command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "max_connections=200"])
            .args(if self.durable {
                &[][..]
            } else {
                &[
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ][..]
            })
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("open the PostgreSQL log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start postgres: {e}"));
        self.child = Some(child);
        self.wait_until_ready();
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", USER, "-d", "postgres"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run pg_isready")
                .success();
            if ready {
                return;
            }
            let child = self.child.as_mut().expect("postgres was started");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                panic!(
                    "postgres exited ({status}) before accepting connections:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not accept connections on port {} within 30 s:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with initdb and postgres.
fn bin_dir() -> PathBuf {
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("postgres").is_file())
        .max_by_key(|bin| version(bin))
        .unwrap_or_else(|| {
            panic!(
                "no PostgreSQL in /usr/lib/postgresql/*/bin: \
                 install Debian's postgresql package: ./scripts/setup.sh"
            )
        })
}

/// `/usr/lib/postgresql/15/bin` -> [15]; `.../9.6/bin` -> [9, 6].
fn version(bin: &Path) -> Vec<u32> {
    let name = bin.parent().and_then(Path::file_name);
    let name = name.and_then(|name| name.to_str()).unwrap_or("");
    name.split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0))
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free port")
        .port()
}

/// Runs a command to its end; panics with its output when it fails.
fn run(command: &mut Command) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The child is the postmaster itself and not yet reaped, so its PID is
/// still its own.
fn signal(child: &Child, number: libc::c_int) {
    unsafe { libc::kill(child.id() as libc::pid_t, number) };
}

/// One server for every test of a test binary that asks for a database;
/// stopped when the binary exits (a `static` is never dropped).
fn shared() -> &'static std::sync::Mutex<Postgres> {
    static SHARED: std::sync::OnceLock<std::sync::Mutex<Postgres>> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let server = Postgres::start();
        extern "C" fn stop_shared() {
            if let Some(server) = SHARED.get()
                && let Ok(mut server) = server.lock()
            {
                server.stop();
            }
        }
        unsafe { libc::atexit(stop_shared) };
        std::sync::Mutex::new(server)
    })
}

/// A fresh, empty database on the binary's shared server: its URL.
pub fn fresh_database() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "wolfe_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    shared().lock().unwrap().create_database(&name)
}

/// Everything in the database at `url`, as `pg_dump` writes it: for tests
/// that look for a value that must never be stored.
pub fn dump(url: &str) -> Vec<u8> {
    run(Command::new(bin_dir().join("pg_dump"))
        .args(["--data-only", "--inserts"])
        .arg(url))
    .stdout
}
