use moat_dockerfile::{Instruction, Kind};

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::copy_args::{copy_args, flag_value};
use crate::rules::dockerfile::helpers::image_stages::stage_chain;
use crate::rules::dockerfile::helpers::pinning::go_version;
use crate::rules::dockerfile::helpers::pkg::{Manager, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports `go install`, `go get` and `go run` of a remote package without a fixed version:
    /// `@latest`, `@upgrade`, `@patch`, a branch (`@main`), or no `@version` at all. A semantic
    /// version (`@v1.2.3`), a pseudo-version and a commit hash are fixed; local packages (`.`,
    /// `./cmd/app`, `/src/app`, `main.go`) are not judged.
    ///
    /// ## Why is this bad?
    /// The build fetches whatever the module's newest release or branch is that day, from
    /// outside any lock file: the tool that ends up in the image (or that runs during the build)
    /// was never reviewed, and a compromised release is picked up on the next build.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM golang:1.23
    /// RUN go install golang.org/x/tools/gopls@latest
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM golang:1.23
    /// RUN go install golang.org/x/tools/gopls@v0.16.2
    /// ```
    ///
    /// ## Fix
    /// Name the version (`@v1.2.3`); Renovate and Dependabot can update it.
    ///
    /// ## References
    /// - hadolint DL3062. moat differs on purpose in one way: `go install` or `go run` of a
    ///   package without `@version` in a stage that copied a `go.mod` (`COPY go.mod go.sum ./`,
    ///   `COPY . .`) is not reported, since Go then builds it at the version the module's
    ///   `go.mod` and `go.sum` fix (`go get` is reported: it moves the requirement to the
    ///   newest version).
    /// - Go documentation, "go install" and "Version queries".
    pub struct UnpinnedGo {
        code: "D065",
        name: "unpinned-go-install",
        summary: "go install/get/run of a package without a fixed version",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3062"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (instr, commands) in ctx.runs() {
        for p in pkg_commands(commands).filter(|p| p.manager == Manager::Go && p.is_install()) {
            let get = p.is_action(&["get"]);
            for package in p.packages() {
                let v = package.value.as_str();
                let go_file = std::path::Path::new(v)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("go"));
                if go_file || v.contains('$') {
                    continue;
                }
                let message = match go_version(v) {
                    Ok(()) => continue,
                    Err(Some(query)) => format!(
                        "`{v}` asks for `@{query}`, which resolves to whatever is newest when \
                         the image is built: name a version"
                    ),
                    Err(None) if get => format!(
                        "`{v}` has no `@version`: `go get` upgrades it to the newest release"
                    ),
                    Err(None) if copies_go_mod(ctx, instr) => continue,
                    Err(None) => format!(
                        "`{v}` has no `@version`, and no go.mod copied into this stage fixes one"
                    ),
                };
                out.emit(&UnpinnedGo::INFO, package.span, message);
            }
        }
    }
}

/// Whether the stage of `instr` (or one it builds on) copied a `go.mod` from the build context
/// before it: `COPY go.mod …`, `COPY . .`.
fn copies_go_mod(ctx: &DockerfileContext<'_>, instr: &Instruction) -> bool {
    let Some(stage) = instr.stage.and_then(|s| ctx.dockerfile.stages.get(s)) else {
        return false;
    };
    stage_chain(ctx, stage)
        .into_iter()
        .flat_map(|s| ctx.dockerfile.instructions_of(s))
        .take_while(|i| i.span.start < instr.span.start)
        .filter(|i| matches!(i.kind, Kind::Copy | Kind::Add) && flag_value(i, "from").is_none())
        .any(|i| {
            copy_args(i).sources.iter().any(|s| {
                let v = s.value.trim_end_matches('/');
                v == "go.mod" || v.ends_with("/go.mod") || matches!(v, "." | "" | "*" | "./*")
            })
        })
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::lines;

    #[test]
    fn versions() {
        let src = "FROM golang:1.23\n\
                   RUN go install golang.org/x/tools/gopls@latest \\\n\
                   && go install github.com/go-delve/delve/cmd/dlv@v1.23.1 \\\n\
                   && go install -ldflags=-s honnef.co/go/tools/cmd/staticcheck@master\n\
                   RUN go get -tool golang.org/x/tools/cmd/stringer\n\
                   RUN go run github.com/a-h/templ/cmd/templ@v0.2.771 generate -path .\n\
                   RUN go install ./cmd/server && go run main.go\n";
        assert_eq!(lines(check, src), [2, 4, 5]);
    }

    #[test]
    fn a_copied_go_mod_fixes_versionless_installs() {
        let src = "FROM golang:1.23\nWORKDIR /src\nCOPY go.mod go.sum ./\n\
                   RUN go install github.com/example/app/cmd/server\n\
                   RUN go get github.com/example/dep\n";
        assert_eq!(lines(check, src), [5]);
        let src = "FROM golang:1.23\nRUN go install github.com/example/app/cmd/server\n";
        assert_eq!(lines(check, src), [2]);
    }
}
