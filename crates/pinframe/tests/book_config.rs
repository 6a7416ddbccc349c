//! The book's configuration reference (`docs/book/src/running/configuration.md`) is what
//! `pinframe … --help` prints, command by command, so it cannot drift from the command line.
//! (A variable whose value is hidden, such as the database URL's, shows as `[env: NAME]`.)
//!
//! The commands are found by walking the "Commands:" section of each help from `pinframe --help`
//! down; every flag's environment variable (`[env: NAME=]`) is gathered into one table. The page's
//! introduction, above the marker line, is written by hand and kept. With
//! `PINFRAME_GOLDEN_UPDATE=1` the test rewrites the generated part instead of comparing it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

const MARKER: &str = "<!-- Everything below is generated from `pinframe … --help` by crates/pinframe/tests/book_config.rs: edit the command line's doc comments, then run it with PINFRAME_GOLDEN_UPDATE=1. -->";

fn help(command: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pinframe"))
        .args(command)
        .arg("--help")
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert!(out.status.success(), "pinframe {command:?} --help failed");
    assert!(out.stderr.is_empty(), "pinframe {command:?} --help wrote to stderr");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommand names a help lists under "Commands:", without clap's own `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command, depth first from `pinframe` itself, with its help.
fn commands() -> Vec<(Vec<String>, String)> {
    let mut found = Vec::new();
    let mut pending = vec![Vec::<String>::new()];
    while let Some(command) = pending.pop() {
        let text = help(&command);
        for name in subcommands(&text).into_iter().rev() {
            let mut child = command.clone();
            child.push(name);
            pending.push(child);
        }
        found.push((command, text));
    }
    found
}

/// `[env: NAME=]` → the flags (with their commands) that read it.
fn variables(commands: &[(Vec<String>, String)]) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (command, text) in commands {
        let mut flag = None;
        for line in text.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("--") || trimmed.starts_with('-') && !trimmed.starts_with("- ") {
                flag = trimmed.split([' ', ',']).find(|word| word.starts_with("--")).map(str::to_owned);
            }
            if let Some(rest) = trimmed.strip_prefix("[env: ") {
                let name = rest.split(['=', ']']).next().unwrap().to_owned();
                let flag = flag.clone().unwrap_or_else(|| panic!("{name}: no flag above it"));
                let usage = format!("`pinframe {} {flag}`", command.join(" "));
                let entry = found.entry(name).or_default();
                if !entry.contains(&usage) {
                    entry.push(usage);
                }
            }
        }
    }
    found
}

fn generated() -> String {
    let commands = commands();
    let mut page = String::new();
    page.push_str("\n## Environment variables\n\n");
    page.push_str("Each variable stands for a flag; a flag given on the command line wins.\n\n");
    page.push_str("| Variable | Flag |\n|---|---|\n");
    for (name, usages) in variables(&commands) {
        page.push_str(&format!("| `{name}` | {} |\n", usages.join("<br>")));
    }
    for (command, text) in &commands {
        let title = if command.is_empty() { "pinframe".to_owned() } else { format!("pinframe {}", command.join(" ")) };
        page.push_str(&format!("\n## {title}\n\n```text\n$ {title} --help\n{}```\n", text));
    }
    page
}

#[test]
fn the_configuration_reference_is_what_the_help_prints() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/book/src/running/configuration.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let introduction = page
        .split_once(MARKER)
        .map(|(introduction, _)| introduction)
        .unwrap_or_else(|| panic!("{}: no marker line; put it under the introduction", path.display()));
    let expected = format!("{introduction}{MARKER}\n{}", generated());
    if std::env::var_os("PINFRAME_GOLDEN_UPDATE").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        page == expected,
        "{} differs from `pinframe … --help`: run this test with PINFRAME_GOLDEN_UPDATE=1 and review the diff",
        path.display()
    );
}

#[test]
fn every_command_is_walked() {
    let commands = commands();
    let names: Vec<String> = commands.iter().map(|(command, _)| command.join(" ")).collect();
    for expected in ["", "serve", "cms", "issuer add", "audit verify", "keys rotate", "jwe encrypt"] {
        assert!(names.iter().any(|name| name == expected), "{expected:?} not found in {names:?}");
    }
    let variables = variables(&commands);
    for expected in ["PINFRAME_DATABASE_URL", "PINFRAME_KEY_STORE", "PINFRAME_WIDGET_DIR"] {
        assert!(variables.contains_key(expected), "{expected} not gathered");
    }
}
