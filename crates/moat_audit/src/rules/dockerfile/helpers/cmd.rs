//! Helpers for reading shell commands of `RUN` instructions: the program actually run (through
//! `sudo`, `env` and similar wrappers), its subcommand and its flags.

use moat_dockerfile::Word;
use moat_dockerfile::shell::Command;

/// Programs that run another program given as their arguments.
const WRAPPERS: &[&str] = &[
    "sudo", "env", "nice", "nohup", "time", "exec", "command", "doas", "gosu", "su-exec", "xargs",
];

/// The argv of the program actually run: wrappers and their options are skipped
/// (`sudo -E apt-get install x` → `apt-get install x`).
pub fn effective_argv(cmd: &Command) -> &[Word] {
    let mut argv = cmd.argv.as_slice();
    loop {
        let Some(first) = argv.first() else {
            return argv;
        };
        let name = basename(&first.value);
        if !WRAPPERS.contains(&name) {
            return argv;
        }
        let mut i = 1;
        while let Some(w) = argv.get(i) {
            let v = w.value.as_str();
            let takes_value = matches!(name, "sudo" | "doas")
                && matches!(
                    v,
                    "-u" | "-g" | "-C" | "-D" | "-h" | "-p" | "-r" | "-t" | "-U"
                );
            if v.starts_with('-')
                || (name == "env" && v.contains('='))
                || (name == "gosu" && i == 1)
                || (name == "su-exec" && i == 1)
            {
                i += if takes_value { 2 } else { 1 };
            } else {
                break;
            }
        }
        argv = argv.get(i..).unwrap_or(&[]);
    }
}

/// Last path component of a program name (`/usr/bin/apt-get` → `apt-get`).
pub fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Whether the command's program is one of `names`.
pub fn is_program(cmd: &Command, names: &[&str]) -> bool {
    effective_argv(cmd)
        .first()
        .is_some_and(|w| names.contains(&basename(&w.value)))
}

/// The program name, if any.
pub fn program(cmd: &Command) -> Option<&str> {
    effective_argv(cmd).first().map(|w| basename(&w.value))
}

/// The first non-flag argument after the program (the subcommand: `install` in
/// `apt-get -y install x`), with its position in the effective argv.
pub fn subcommand<'a>(argv: &'a [Word], value_flags: &[&str]) -> Option<(usize, &'a Word)> {
    let mut i = 1;
    while let Some(w) = argv.get(i) {
        if w.value.starts_with('-') {
            let takes_value = value_flags.contains(&w.value.as_str());
            i += if takes_value { 2 } else { 1 };
            continue;
        }
        return Some((i, w));
    }
    None
}

/// Whether any argument is one of the `long` flags (also as `--flag=value`) or a short-flag
/// cluster containing one of the `short` letters (`-yq` has `y`).
pub fn has_flag(args: &[Word], long: &[&str], short: &[char]) -> bool {
    args.iter().any(|w| flag_matches(&w.value, long, short))
}

/// Whether one argument is such a flag.
pub fn flag_matches(v: &str, long: &[&str], short: &[char]) -> bool {
    if v.starts_with("--") {
        let name = v.split('=').next().unwrap_or(v);
        return long.contains(&name);
    }
    if let Some(cluster) = v.strip_prefix('-') {
        if long.contains(&v) {
            return true;
        }
        return !cluster.is_empty()
            && cluster.chars().all(|c| c.is_ascii_alphanumeric())
            && cluster.chars().any(|c| short.contains(&c));
    }
    false
}

/// Targets of the cache and tmpfs mounts of a `RUN` (or `ONBUILD RUN`): what is written there
/// does not stay in the image.
pub fn cache_mount_targets(instr: &moat_dockerfile::Instruction) -> Vec<&str> {
    let run = instr.onbuild.as_deref().unwrap_or(instr);
    run.flags
        .iter()
        .filter(|f| f.name.value.eq_ignore_ascii_case("mount"))
        .filter_map(|f| f.value.as_ref())
        .filter_map(|v| {
            let fields: Vec<(&str, &str)> = v
                .value
                .split(',')
                .filter_map(|kv| kv.trim().split_once('='))
                .collect();
            let cache = fields
                .iter()
                .any(|&(k, v)| k == "type" && matches!(v, "cache" | "tmpfs"));
            let target = fields
                .iter()
                .find(|&&(k, _)| matches!(k, "target" | "dst" | "destination"))
                .map(|&(_, t)| t);
            target.filter(|_| cache)
        })
        .collect()
}

/// Whether the `RUN` (or `ONBUILD RUN`) mounts a cache or tmpfs over `path`: at `path` itself or
/// at a directory above it (`--mount=type=cache,target=/var/lib/apt` covers
/// `/var/lib/apt/lists`), so that nothing written there stays in the image.
pub fn has_cache_mount(instr: &moat_dockerfile::Instruction, path: &str) -> bool {
    cache_mount_targets(instr)
        .into_iter()
        .any(|t| covers(t, path))
}

/// Whether directory `dir` is `path` or one of its parents (compared by path components).
pub fn covers(dir: &str, path: &str) -> bool {
    let parts = |p: &str| {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (dir, path) = (parts(dir), parts(path));
    !dir.is_empty() && path.starts_with(&dir)
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn covers_by_components() {
        assert!(covers("/var/lib/apt", "/var/lib/apt/lists"));
        assert!(covers("/var/lib/apt/lists/", "/var/lib/apt/lists"));
        assert!(!covers("/var/lib/apt/lists/partial", "/var/lib/apt/lists"));
        assert!(!covers("/var/lib/ap", "/var/lib/apt/lists"));
        assert!(!covers("/", "/var/lib/apt/lists"));
    }
}
