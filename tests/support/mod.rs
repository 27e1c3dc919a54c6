//! What the command-line test binaries share: the real `passerelle`
//! binary run in a temporary folder, with none of the test's own Passerelle
//! variables.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("passerelle.db")
    }

    /// Runs `passerelle ARGS` with `stdin` as standard input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.run_env(args, stdin, &[])
    }

    /// Runs `passerelle ARGS` with `stdin` and exactly the Passerelle
    /// variables in `env` (none of the test's own environment).
    pub fn run_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_passerelle"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("PASSERELLE_DB")
            .env_remove("PASSERELLE_DEMO_DB")
            .env_remove("PASSERELLE_MASTER_KEY")
            .env_remove("PASSERELLE_MASTER_KEY_FILE");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run passerelle");
        let written = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes());
        // A command that stops before reading its input (a refusal) closes
        // the pipe first: its output says what it did.
        if let Err(e) = written {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
        child.wait_with_output().expect("passerelle output")
    }

    /// Runs a command that must succeed; returns its output.
    pub fn succeeds(&self, args: &[&str], stdin: &str) -> Output {
        self.succeeds_env(args, stdin, &[])
    }

    /// [`Cli::succeeds`] with the Passerelle variables in `env`.
    pub fn succeeds_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let out = self.run_env(args, stdin, env);
        assert!(
            out.status.success(),
            "passerelle {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn ok(&self, args: &[&str], stdin: &str) -> String {
        self.ok_env(args, stdin, &[])
    }

    pub fn ok_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> String {
        String::from_utf8(self.succeeds_env(args, stdin, env).stdout).expect("utf-8")
    }

    /// Runs a command that must fail; returns its standard error.
    pub fn fails(&self, args: &[&str], stdin: &str) -> String {
        self.fails_env(args, stdin, &[])
    }

    pub fn fails_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> String {
        let out = self.run_env(args, stdin, env);
        assert!(
            !out.status.success(),
            "passerelle {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8")
    }

    /// Runs a command that must exit with status 1 and write nothing on
    /// standard output; returns its standard error.
    pub fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args, "");
        assert_eq!(
            out.status.code(),
            Some(1),
            "passerelle {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} wrote on standard output");
        String::from_utf8(out.stderr).expect("utf-8")
    }

    pub fn db_arg(&self) -> String {
        self.db().display().to_string()
    }
}

impl Cli {
    /// The temporary folder the commands run in.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// The permission bits of a file.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}
