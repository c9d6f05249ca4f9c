//! What a command hands back, and how it reaches the operator: text for people, one
//! JSON document for pipelines, and an exit code that tells them apart.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use pactum_tenancy::TenancyError;
use serde::Serialize;
use tokio_postgres::error::SqlState;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// Some tenant failed, or `status --check` found something behind.
    Failed = 1,
    /// Usage, validation or connection error: nothing was changed.
    Refused = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A finished command: its data, its text rendering and how it ended.
pub struct Report {
    pub json: serde_json::Value,
    pub text: String,
    pub exit: Exit,
}

impl Report {
    pub fn new(data: &impl Serialize, text: String) -> Self {
        Self {
            json: serde_json::to_value(data).expect("reports serialize to JSON"),
            text,
            exit: Exit::Success,
        }
    }

    pub fn with_exit(mut self, exit: Exit) -> Self {
        self.exit = exit;
        self
    }
}

/// A command that could not do its work.
#[derive(Debug)]
pub struct CliError {
    pub code: String,
    pub message: String,
    pub exit: Exit,
}

impl CliError {
    pub fn refused(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            exit: Exit::Refused,
        }
    }

    /// Work that was attempted and did not (fully) succeed: exit 1.
    pub fn failed(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            exit: Exit::Failed,
        }
    }
}

impl From<TenancyError> for CliError {
    fn from(error: TenancyError) -> Self {
        if let TenancyError::Database(db) = &error {
            if db.code() == Some(&SqlState::UNDEFINED_TABLE) {
                return Self::refused(
                    "not_migrated",
                    "the database has no Pactum registry yet; run `tenantctl migrate` first",
                );
            }
        }
        let exit = if error.is_operator_error() {
            Exit::Refused
        } else {
            Exit::Failed
        };
        Self {
            code: error.code().into(),
            message: pactum_tenancy::describe_error(&error),
            exit,
        }
    }
}

pub fn emit(result: Result<Report, CliError>, json: bool) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match result {
        Ok(report) => {
            if json {
                let _ = writeln!(stdout, "{}", report.json);
            } else if !report.text.is_empty() {
                let _ = writeln!(stdout, "{}", report.text.trim_end());
            }
            report.exit.into()
        }
        Err(error) => {
            if json {
                let body = serde_json::json!({"error": error.code, "message": error.message});
                let _ = writeln!(stdout, "{body}");
            }
            eprintln!("error: {}", error.message);
            error.exit.into()
        }
    }
}

/// Progress goes to stderr: a bar on a terminal, plain lines elsewhere (CI logs), and
/// nothing at all with `--json`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    Bar,
    Lines,
    Silent,
}

impl ProgressStyle {
    pub fn detect(json: bool) -> Self {
        if json {
            Self::Silent
        } else if std::io::stderr().is_terminal() {
            Self::Bar
        } else {
            Self::Lines
        }
    }
}
