//! Package-manager commands found in `RUN` instructions, understood once and shared by the
//! package rules: which manager, which action, which flags and which packages.

use moat_dockerfile::Word;
use moat_dockerfile::shell::Command;

use super::cmd::{basename, effective_argv, has_flag, subcommand};

/// A package manager moat understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// `apt-get`.
    AptGet,
    /// `apt` (the interactive front end).
    Apt,
    /// `aptitude`.
    Aptitude,
    /// Alpine `apk`.
    Apk,
    /// `pip`, `pip3`, `python -m pip`.
    Pip,
    /// `pipx` (applications from PyPI, each in its own environment).
    Pipx,
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
    /// The `go` tool (`go install`, `go get`, `go run`).
    Go,
}

impl Manager {
    /// Whether it installs operating-system packages (not language packages).
    pub fn is_system(self) -> bool {
        matches!(
            self,
            Manager::AptGet
                | Manager::Apt
                | Manager::Aptitude
                | Manager::Apk
                | Manager::Yum
                | Manager::Dnf
                | Manager::Zypper
        )
    }
}

/// One package-manager invocation.
#[derive(Debug)]
pub struct PkgCommand<'a> {
    /// Manager.
    pub manager: Manager,
    /// The effective argv (wrappers skipped; for `python -m pip`, starting at `pip`).
    pub argv: &'a [Word],
    /// Subcommand word (`install`, `add`, `update`, …) and its index in `argv`. For
    /// `yum`/`dnf module install`, the word after `module`.
    pub action: Option<(usize, &'a Word)>,
    /// A `yum`/`dnf module …` command: its arguments are module streams (`nodejs:20`).
    pub module: bool,
    /// The command.
    pub command: &'a Command,
}

/// Flags that take a separate value, per manager (so their value is not taken for a package).
fn value_flags(manager: Manager) -> &'static [&'static str] {
    match manager {
        Manager::AptGet | Manager::Apt | Manager::Aptitude => &[
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
            "-C",
            "--root-user-action",
            "--report",
            "--python",
            "--use-feature",
            "--use-deprecated",
            "--keyring-provider",
            "--log-file",
            "-b",
            "--build",
        ],
        Manager::Pipx => &[
            "--python",
            "--pip-args",
            "--index-url",
            "-i",
            "--suffix",
            "--spec",
            "--preinstall",
            "--backend",
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
            "--progress",
            "--install-strategy",
            "--cpu",
            "--os",
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
        Manager::Zypper => &["-r", "--repo", "--from", "-t", "--type", "--root", "-R"],
        Manager::Go => &[
            "-C",
            "-p",
            "-o",
            "-tags",
            "--tags",
            "-ldflags",
            "-gcflags",
            "-asmflags",
            "-mod",
            "-modfile",
            "-overlay",
            "-pkgdir",
            "-toolexec",
            "-buildmode",
            "-compiler",
            "-exec",
            "-pgo",
        ],
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
            "aptitude" => (Manager::Aptitude, argv),
            "pipx" => (Manager::Pipx, argv),
            "go" => (Manager::Go, argv),
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
        let mut action = subcommand(argv, value_flags(manager));
        let mut module = false;
        if matches!(manager, Manager::Yum | Manager::Dnf)
            && let Some((i, w)) = action
            && w.value == "module"
        {
            // `dnf module install nodejs:20`: the action is the word after `module`
            let rest = argv.get(i..).unwrap_or(&[]);
            action = subcommand(rest, value_flags(manager)).map(|(j, w)| (i + j, w));
            module = true;
        }
        Some(PkgCommand {
            manager,
            argv,
            action,
            module,
            command,
        })
    }

    /// The action word, lower-cased comparison helper.
    pub fn is_action(&self, names: &[&str]) -> bool {
        self.action
            .is_some_and(|(_, w)| names.contains(&w.value.as_str()))
    }

    /// Whether this installs packages (a simulation, `apt-get install -s`, does not).
    pub fn is_install(&self) -> bool {
        if self.is_simulation() {
            return false;
        }
        match self.manager {
            Manager::Apk => self.is_action(&["add"]),
            Manager::Yum | Manager::Dnf => {
                self.is_action(&["install", "groupinstall", "reinstall"])
            }
            Manager::Zypper => self.is_action(&["install", "in"]),
            Manager::Gem => self.is_action(&["install", "i"]),
            Manager::Go => self.is_action(&["install", "get", "run"]),
            Manager::Npm => self.is_action(&[
                "install", "i", "add", "isntall", "in", "ins", "inst", "insta", "instal", "isnt",
                "isnta", "isntal",
            ]),
            _ => self.is_action(&["install"]),
        }
    }

    /// Whether this only simulates (`apt-get install -s`, `--simulate`, `--dry-run`, …): nothing
    /// is installed and no file is left behind.
    pub fn is_simulation(&self) -> bool {
        match self.manager {
            Manager::AptGet | Manager::Apt => self.has_flag(
                &[
                    "--simulate",
                    "--just-print",
                    "--dry-run",
                    "--recon",
                    "--no-act",
                ],
                &['s'],
            ),
            Manager::Aptitude => self.has_flag(&["--simulate"], &['s']),
            _ => false,
        }
    }

    /// Whether this refreshes the package index.
    pub fn is_update(&self) -> bool {
        match self.manager {
            Manager::AptGet | Manager::Apt | Manager::Aptitude | Manager::Apk => {
                self.is_action(&["update"])
            }
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

    /// Package arguments of an install: flags and their values skipped (a `true` or `false`
    /// after an option included), and what follows `--` for `gem` (build options) and for
    /// `go run` after the package (the program's arguments).
    /// The value of pip's `-e`/`--editable` is a package (a path or a VCS URL).
    pub fn packages(&self) -> Vec<&'a Word> {
        let Some((i, _)) = self.action else {
            return Vec::new();
        };
        let flags = value_flags(self.manager);
        let go_run = self.manager == Manager::Go && self.is_action(&["run"]);
        let mut out = Vec::new();
        let mut options_done = false;
        let mut j = i + 1;
        while let Some(w) = self.argv.get(j) {
            let v = w.value.as_str();
            j += 1;
            if v == "--" && !options_done {
                if self.manager == Manager::Gem {
                    break;
                }
                options_done = true;
                continue;
            }
            if v.starts_with('-') && !options_done {
                let editable = self.manager == Manager::Pip && matches!(v, "-e" | "--editable");
                if editable {
                    out.extend(self.argv.get(j));
                }
                if flags.contains(&v) {
                    j += 1;
                }
                continue;
            }
            if v == "&&" {
                break;
            }
            // `--flag true`: a boolean after an option is the option's value (npm reads it so;
            // elsewhere the command fails on the option before installing anything)
            let after_option = self
                .argv
                .get(j - 2)
                .is_some_and(|prev| prev.value.starts_with('-') && !prev.value.contains('='));
            if after_option && matches!(v, "true" | "false") && !options_done {
                continue;
            }
            out.push(w);
            if go_run {
                break;
            }
        }
        out.retain(|w| !w.value.is_empty() && !w.value.starts_with('$'));
        out
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
