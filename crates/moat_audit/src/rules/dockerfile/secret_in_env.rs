use moat_dockerfile::{Kind, Word};

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::image_stages::image_instructions;
use crate::secrets::{self, is_secret_name, not_a_secret_value, value_kind};

declare_rule! {
    /// ## What it does
    /// Reports an `ENV` or `ARG` whose name says it holds a secret (`DB_PASSWORD`, `API_KEY`,
    /// `GITHUB_TOKEN`, …) or whose value has the shape of one: a URL with a password, an AWS,
    /// GitHub, Slack, Stripe or Google key, a private-key block, or (when the name does not say
    /// it holds a version, path, checksum or the like) a long high-entropy string.
    ///
    /// `ARG` is reported in every stage, even without a default value: the value passed with
    /// `--build-arg` is recorded in the image history of every layer that uses it. `ENV` is
    /// reported by name where it ends up in the image: in the final stage and the stages it
    /// builds on by name (`FROM base`), unless its value cannot be a secret (empty, a switch
    /// such as `no`, a placeholder such as `xxxx`, or a file path such as
    /// `/run/secrets/db_password`). An `ENV` of a builder stage stays out of the image, so there
    /// it is reported only when it holds a literal secret (not `${VAR}`), which is then written
    /// in the Dockerfile itself.
    ///
    /// ## Why is this bad?
    /// `ENV` values are stored in the image configuration: anyone who can pull the image reads
    /// them with `docker inspect`, and every container started from it has them. Build arguments
    /// show in `docker history`. Writing `ENV DB_PASSWORD=${DB_PASSWORD}` does not help: the value
    /// passed at build time is baked in just the same.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// ARG GITHUB_TOKEN
    /// ENV DATABASE_URL=postgres://app:s3cr3t@db:5432/app
    /// ENV DB_PASSWORD=${DB_PASSWORD}
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// # syntax=docker/dockerfile:1
    /// FROM python:3.12-slim
    /// RUN --mount=type=secret,id=github_token,env=GITHUB_TOKEN ./fetch-private-deps.sh
    /// # and pass DATABASE_URL / DB_PASSWORD to the container at run time
    /// ```
    ///
    /// ## Fix
    /// Pass build-time secrets with BuildKit secret mounts (`RUN --mount=type=secret`) and
    /// run-time secrets with the orchestrator's secret store or the container environment. A name
    /// that is wrongly taken for a secret can be added to `[secrets] allow` in `.moat.toml`
    /// (globs, lower case: `allow = ["build_token"]`). Evidence in the report is redacted.
    ///
    /// ## References
    /// - hadolint DL3064 (names only). moat differs on purpose. It does not report names that
    ///   hold a user name, path, URL, id or version (`DB_USERNAME`, `PASSWORD_FILE`,
    ///   `TOKEN_URL`, `AWS_ACCESS_KEY_ID`), nor an `ENV` whose value cannot be a secret
    ///   (`ENV DB_PASSWORD=""`, `ENV MYSQL_RANDOM_ROOT_PASSWORD=yes`), nor an `ENV` of a builder
    ///   stage that the image does not inherit unless its value is a literal (`FROM golang AS
    ///   build` / `ENV GOPRIVATE_TOKEN=${TOKEN}`). It does report names hadolint misses
    ///   (`ENV SSH_PASS root`, `ENV ROOT_PASSWD ubuntu`, `ARG GITHUB_CREDENTIALS`) and values by
    ///   shape (`ENV DATABASE_URL=postgres://app:s3cr3t@db/app`).
    /// - CIS Docker Benchmark 4.10 (do not store secrets in Dockerfiles).
    pub struct SecretInEnv {
        code: "D010",
        name: "secret-in-env",
        summary: "ENV or ARG holds a secret",
        severity: High,
        confidence: Medium,
        default_enabled: true,
        references: ["DL3064", "CIS-DOCKER-4.10"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let image = image_instructions(ctx);
    for (_, instr) in ctx.instructions() {
        let place = match instr.kind {
            Kind::Arg => Place::Arg,
            Kind::Env if image.iter().any(|i| std::ptr::eq(*i, instr)) => Place::ImageEnv,
            Kind::Env => Place::BuildEnv,
            _ => continue,
        };
        for (name, value) in instr.key_values() {
            check_pair(ctx, out, place, &name, value.as_ref());
        }
    }
}

/// Where a variable is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A build argument.
    Arg,
    /// An ENV that the image inherits.
    ImageEnv,
    /// An ENV of a stage that the image does not inherit.
    BuildEnv,
}

fn check_pair(
    ctx: &DockerfileContext<'_>,
    out: &mut Emitter<'_>,
    place: Place,
    name: &Word,
    value: Option<&Word>,
) {
    let keyword = if place == Place::Arg { "ARG" } else { "ENV" };
    let literal = value.is_some_and(|v| !v.value.is_empty() && !secrets::is_reference(&v.value));
    let secret_name = is_secret_name(&name.value, &ctx.settings.secret_allow);
    // An ENV whose value cannot be a secret (empty, a switch, a file path) holds none; a build
    // argument leaks whatever is passed at build time, whatever its default.
    let harmless = place != Place::Arg && value.is_some_and(|v| not_a_secret_value(&v.value));
    if secret_name && !harmless && (place != Place::BuildEnv || literal) {
        let why = match place {
            Place::Arg => "build arguments are recorded in the image history",
            Place::ImageEnv => "ENV values are stored in the image",
            Place::BuildEnv => "its literal value is written in the Dockerfile and the build cache",
        };
        let span = value.map_or(name.span, |v| name.span.to(v.span));
        let finding = out.emit(
            &SecretInEnv::INFO,
            span,
            format!("{keyword} `{}` looks like a secret: {why}", name.value),
        );
        if let Some(v) = value.filter(|v| !v.value.is_empty()) {
            finding.evidence = Some(format!("{}={}", name.value, secrets::redact(&v.value)));
        }
        return;
    }
    let Some(value) = value.filter(|_| !secret_name) else {
        return;
    };
    if let Some(kind) = value_kind(&name.value, &value.value) {
        let finding = out.emit(
            &SecretInEnv::INFO,
            value.span,
            format!(
                "{keyword} `{}` has a value that looks like {}",
                name.value,
                kind.describe()
            ),
        );
        finding.evidence = Some(format!("{}={}", name.value, secrets::redact(&value.value)));
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::config::Settings;
    use crate::rules::dockerfile::helpers::testing::{findings_with, lines};
    use crate::secrets::ValueKind;
    use crate::secrets::{is_secret_name, value_kind};

    #[test]
    fn env_values_that_cannot_be_secrets() {
        let src = "FROM alpine\nENV DB_PASSWORD=\"\" ALLOW_EMPTY_PASSWORD=no API_KEY=xxxxxxxx\nENV PRIVATE_KEY=/root/.ssh/id_rsa\nENV GOOGLE_CREDENTIALS key.json\nARG NPM_TOKEN=\"\"\nENV ADMIN_PASSWORD=changeme\n";
        assert_eq!(lines(check, src), [5, 6]);
    }

    #[test]
    fn names() {
        let none: &[String] = &[];
        assert!(is_secret_name("S3SECRETKEY", none));
        assert!(is_secret_name("DBPASSWORD", none));
        assert!(!is_secret_name("FTP_PORT_PASS_START", none));
        assert!(!is_secret_name("GLUU_SECRET_ADAPTER", none));
        assert!(!is_secret_name("GISTURL", none));
        assert!(!is_secret_name("dbpassword", &["dbpassword".to_string()]));
        assert_eq!(value_kind("SUPERCRONIC", "supercronic-linux-amd64"), None);
        assert_eq!(
            value_kind("GISTURL", "yuhisa-jp/4cbcd6dc79570c55f6d948a82dbfca91"),
            None
        );
    }

    #[test]
    fn honours_the_allow_list() {
        let src = "FROM alpine\nARG BUILD_TOKEN\nENV DB_PASSWORD=hunter2\n";
        let settings = Settings {
            secret_allow: vec!["build_*".into()],
            ..Settings::default()
        };
        let got: Vec<usize> = findings_with(check, src, &settings)
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(got, [3]);
    }

    #[test]
    fn env_only_where_it_reaches_the_image() {
        let src = "FROM alpine AS build\nENV API_TOKEN=${API_TOKEN}\nARG NPM_TOKEN\nENV DB_PASSWORD=hunter2\nFROM alpine\nENV SECRET_KEY=${SECRET_KEY}\n";
        assert_eq!(lines(check, src), [3, 4, 6]);
    }

    #[test]
    fn entropy_only_for_names_that_do_not_explain_the_value() {
        let random = "q8Zr2LmX0vT5nK7wP4sY1bH9";
        assert_eq!(value_kind("SETTING", random), Some(ValueKind::HighEntropy));
        assert_eq!(value_kind("BUILD_REF", random), None);
        assert_eq!(
            value_kind("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"),
            None
        );
        assert_eq!(
            value_kind("APP_VERSION", "AKIAIOSFODNN7EXAMPLE"),
            Some(ValueKind::AwsAccessKey)
        );
        assert_eq!(
            value_kind("MIRROR", "https://user:hunter22@mirror.example.com"),
            Some(ValueKind::CredentialUrl)
        );
        assert_eq!(value_kind("DB", "${DB_PASSWORD}"), None);
    }
}
