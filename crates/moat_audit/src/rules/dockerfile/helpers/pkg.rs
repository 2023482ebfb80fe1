//! Package-manager commands found in `RUN` instructions, understood once and shared by the
//! package rules: which manager, which action, which flags and which packages.

use moat_dockerfile::Word;
use moat_dockerfile::shell::Command;

use super::cmd::{basename, effective_argv, has_flag, positionals, subcommand};

/// A package manager moat understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// `apt-get`.
    AptGet,
    /// `apt` (the interactive front end).
    Apt,
    /// Alpine `apk`.
    Apk,
    /// `pip`, `pip3`, `python -m pip`.
    Pip,
    /// `npm`.
    Npm,
    /// `gem`.
    Gem,
    /// `yum`.
    Yum,
    /// `dnf` / `microdnf`.
    Dnf,
    /// `zypper`.
    Zypper,
}

/// One package-manager invocation.
#[derive(Debug)]
pub struct PkgCommand<'a> {
    /// Manager.
    pub manager: Manager,
    /// The effective argv (wrappers skipped; for `python -m pip`, starting at `pip`).
    pub argv: &'a [Word],
    /// Subcommand word (`install`, `add`, `update`, …) and its index in `argv`.
    pub action: Option<(usize, &'a Word)>,
    /// The command.
    pub command: &'a Command,
}

/// Flags that take a separate value, per manager (so their value is not taken for a package).
fn value_flags(manager: Manager) -> &'static [&'static str] {
    match manager {
        Manager::AptGet | Manager::Apt => &[
            "-o",
            "-c",
            "-t",
            "--target-release",
            "--option",
            "--config-file",
        ],
        Manager::Apk => &[
            "-X",
            "--repository",
            "-t",
            "--virtual",
            "--root",
            "-p",
            "--keys-dir",
            "--arch",
            "--repositories-file",
            "--cache-dir",
        ],
        Manager::Pip => &[
            "-r",
            "--requirement",
            "-c",
            "--constraint",
            "-e",
            "--editable",
            "-t",
            "--target",
            "-i",
            "--index-url",
            "--extra-index-url",
            "-f",
            "--find-links",
            "--trusted-host",
            "--prefix",
            "--root",
            "--src",
            "--upgrade-strategy",
            "--platform",
            "--python-version",
            "--implementation",
            "--abi",
            "--global-option",
            "--install-option",
            "--progress-bar",
            "--log",
            "--proxy",
            "--retries",
            "--timeout",
            "--exists-action",
            "--cert",
            "--client-cert",
            "--cache-dir",
            "--only-binary",
            "--no-binary",
            "--config-settings",
        ],
        Manager::Npm => &[
            "--prefix",
            "--registry",
            "--cache",
            "-C",
            "--userconfig",
            "--tag",
            "--loglevel",
            "--omit",
            "--include",
            "-w",
            "--workspace",
        ],
        Manager::Gem => &[
            "-v",
            "--version",
            "-i",
            "--install-dir",
            "-n",
            "--bindir",
            "-s",
            "--source",
            "-p",
            "--http-proxy",
            "--platform",
        ],
        Manager::Yum | Manager::Dnf => &[
            "-c",
            "--config",
            "--installroot",
            "--enablerepo",
            "--disablerepo",
            "--exclude",
            "-x",
            "--releasever",
            "--setopt",
            "--repo",
            "--repoid",
            "-d",
            "-e",
            "--downloaddir",
            "--nodocs",
        ],
        Manager::Zypper => &["-r", "--repo", "--from", "-t", "--type"],
    }
}

impl<'a> PkgCommand<'a> {
    /// Recognises a package-manager command.
    pub fn parse(command: &'a Command) -> Option<Self> {
        let argv = effective_argv(command);
        let first = argv.first()?;
        let name = basename(&first.value);
        let (manager, argv) = match name {
            "apt-get" => (Manager::AptGet, argv),
            "apt" => (Manager::Apt, argv),
            "apk" => (Manager::Apk, argv),
            "npm" => (Manager::Npm, argv),
            "gem" => (Manager::Gem, argv),
            "yum" => (Manager::Yum, argv),
            "dnf" | "microdnf" => (Manager::Dnf, argv),
            "zypper" => (Manager::Zypper, argv),
            n if is_pip(n) => (Manager::Pip, argv),
            n if n.starts_with("python") => {
                // python -m pip …
                let m = argv.iter().position(|w| w.value == "-m")?;
                let module = argv.get(m + 1)?;
                if !is_pip(&module.value) {
                    return None;
                }
                (Manager::Pip, argv.get(m + 1..)?)
            }
            _ => return None,
        };
        let action = subcommand(argv, value_flags(manager));
        Some(PkgCommand {
            manager,
            argv,
            action,
            command,
        })
    }

    /// The action word, lower-cased comparison helper.
    pub fn is_action(&self, names: &[&str]) -> bool {
        self.action
            .is_some_and(|(_, w)| names.contains(&w.value.as_str()))
    }

    /// Whether this installs packages.
    pub fn is_install(&self) -> bool {
        match self.manager {
            Manager::Apk => self.is_action(&["add"]),
            Manager::Yum | Manager::Dnf => {
                self.is_action(&["install", "groupinstall", "reinstall"])
            }
            Manager::Zypper => self.is_action(&["install", "in"]),
            Manager::Npm => self.is_action(&[
                "install", "i", "add", "isntall", "in", "ins", "inst", "insta", "instal", "isnt",
                "isnta", "isntal",
            ]),
            _ => self.is_action(&["install"]),
        }
    }

    /// Whether this refreshes the package index.
    pub fn is_update(&self) -> bool {
        match self.manager {
            Manager::AptGet | Manager::Apt | Manager::Apk => self.is_action(&["update"]),
            Manager::Yum | Manager::Dnf => self.is_action(&["makecache"]),
            Manager::Zypper => self.is_action(&["refresh", "ref"]),
            _ => false,
        }
    }

    /// Arguments after the action.
    pub fn args(&self) -> &'a [Word] {
        match self.action {
            Some((i, _)) => self.argv.get(i + 1..).unwrap_or(&[]),
            None => &[],
        }
    }

    /// All flags of the command (before and after the action).
    pub fn has_flag(&self, long: &[&str], short: &[char]) -> bool {
        has_flag(self.argv.get(1..).unwrap_or(&[]), long, short)
    }

    /// Package arguments of an install (flags and their values skipped).
    pub fn packages(&self) -> Vec<&'a Word> {
        let Some((i, _)) = self.action else {
            return Vec::new();
        };
        positionals(self.argv, i + 1, value_flags(self.manager))
            .into_iter()
            .filter(|w| !w.value.is_empty() && !w.value.starts_with('$') && w.value != "&&")
            .collect()
    }
}

fn is_pip(name: &str) -> bool {
    name == "pip"
        || name
            .strip_prefix("pip")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Package commands of a list of shell commands.
pub fn pkg_commands(commands: &[Command]) -> impl Iterator<Item = PkgCommand<'_>> {
    commands.iter().filter_map(PkgCommand::parse)
}

impl PkgCommand<'_> {
    /// Source text of the command, shortened for messages.
    pub fn command_text(&self, ctx: &crate::context::DockerfileContext<'_>) -> String {
        let text = ctx.text(self.command.span);
        let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() > 60 {
            let short: String = one_line.chars().take(57).collect();
            format!("{short}...")
        } else {
            one_line
        }
    }
}
