use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::env_secrets::{Assignment, Place, assignments};
use crate::secrets::{self, Verdict};

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
    /// such as `no`, a file path such as `/run/secrets/db_password`, a sentinel such as
    /// `**Random**`). An `ENV` of a builder stage stays out of the image, so there it is
    /// reported only when it holds a literal secret (not `${VAR}`), which is then written in the
    /// Dockerfile itself.
    ///
    /// Never reported: references into a secret store resolved at run time (`op://…`,
    /// `vault:…`, AWS Secrets Manager ARNs); public keys and certificates, whatever the name
    /// (`MINISIGN_PUBKEY`, `*_PUBLIC_KEY`, `*_PUB_KEY`, a minisign `RWS…` key,
    /// `ssh-ed25519 AAAA…`, a PGP public key block, a PEM `PUBLIC KEY` or `CERTIFICATE`);
    /// `*_FILE` variables, which hold the path of a secret (`DB_PASSWORD_FILE=/run/secrets/db`,
    /// the good practice); and placeholders
    /// (`changeme`, `<password>`, `xxxx`, `your-key-here`, `example`, `TODO`, `secret`,
    /// `password`, an issuer's example key such as `AKIAIOSFODNN7EXAMPLE`, a URL to
    /// `example.com`): nothing secret is written, and an `ENV` of the image that defaults to a
    /// placeholder is `D013`'s, at low severity. A build argument is reported by name whatever
    /// its default, since the value that leaks is the one passed at build time.
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
    ///   `TOKEN_URL`), nor an `ENV` whose value cannot be a secret
    ///   (`ENV DB_PASSWORD=""`, `ENV MYSQL_RANDOM_ROOT_PASSWORD=yes`), nor an `ENV` of a builder
    ///   stage that the image does not inherit unless its value is a literal (`FROM golang AS
    ///   build` / `ENV GOPRIVATE_TOKEN=${TOKEN}`). It does report names hadolint misses
    ///   (`ENV SSH_PASS root`, `ENV ROOT_PASSWD ubuntu`, `ARG GITHUB_CREDENTIALS`) and values by
    ///   shape (`ENV DATABASE_URL=postgres://app:s3cr3t@db/app`). A cloud access key id
    ///   (`ARG AWS_ACCESS_KEY_ID`) is reported as hadolint does, unless the Dockerfile also sets
    ///   the secret half (`AWS_SECRET_ACCESS_KEY`), whose finding covers the pair.
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
    let all = assignments(ctx);
    // An access key id is reported only when its secret half is not: the finding on the secret
    // covers the pair (one problem, one finding).
    let has_secret_access_key = all.iter().any(|a| {
        a.secret_name
            && a.name
                .value
                .to_ascii_uppercase()
                .ends_with("SECRET_ACCESS_KEY")
    });
    for a in all {
        if !has_secret_access_key
            && secrets::is_access_key_id(&a.name.value, &ctx.settings.secret_allow)
        {
            access_key_id(&a, out);
            continue;
        }
        let by_name = a.secret_name
            && match a.place {
                // whatever is passed at build time is recorded, whatever the default (a public
                // key as the default says the argument holds one)
                Place::Arg => !secrets::is_public_key(a.value_text()),
                // `ENV DB_PASSWORD=${DB_PASSWORD}` bakes in the value passed at build time
                Place::ImageEnv => a.is_reference() || a.verdict == Verdict::Secret(None),
                Place::BuildEnv => a.verdict == Verdict::Secret(None),
            };
        let keyword = a.place.keyword();
        if by_name {
            let why = match a.place {
                Place::Arg => "build arguments are recorded in the image history",
                Place::ImageEnv => "ENV values are stored in the image",
                Place::BuildEnv => {
                    "its literal value is written in the Dockerfile and the build cache"
                }
            };
            let span = a
                .value
                .as_ref()
                .map_or(a.name.span, |v| a.name.span.to(v.span));
            let finding = out.emit(
                &SecretInEnv::INFO,
                span,
                format!("{keyword} `{}` looks like a secret: {why}", a.name.value),
            );
            if let Some(v) = a.value.as_ref().filter(|v| !v.value.is_empty()) {
                finding.evidence = Some(format!("{}={}", a.name.value, secrets::redact(&v.value)));
                finding.secret = Some(v.span);
            }
        } else if let (false, Verdict::Secret(Some(kind)), Some(value)) =
            (a.secret_name, a.verdict, a.value.as_ref())
        {
            let finding = out.emit(
                &SecretInEnv::INFO,
                value.span,
                format!(
                    "{keyword} `{}` has a value that looks like {}",
                    a.name.value,
                    kind.describe()
                ),
            );
            finding.evidence = Some(format!(
                "{}={}",
                a.name.value,
                secrets::redact(&value.value)
            ));
            finding.secret = Some(value.span);
        }
    }
}

/// `ARG AWS_ACCESS_KEY_ID`, `ENV AWS_ACCESS_KEY_ID=AKIA…`: the id of a credential pair built
/// into the image.
fn access_key_id(a: &Assignment, out: &mut Emitter<'_>) {
    let literal = a
        .value
        .as_ref()
        .is_some_and(|v| !secrets::not_a_secret_value(&v.value) && !secrets::is_placeholder(&v.value));
    let why = match a.place {
        Place::Arg => "build arguments are recorded in the image history",
        Place::ImageEnv if a.is_reference() || literal => "ENV values are stored in the image",
        Place::BuildEnv if literal && !a.is_reference() => {
            "its literal value is written in the Dockerfile and the build cache"
        }
        Place::ImageEnv | Place::BuildEnv => return,
    };
    let span = a
        .value
        .as_ref()
        .map_or(a.name.span, |v| a.name.span.to(v.span));
    let finding = out.emit(
        &SecretInEnv::INFO,
        span,
        format!(
            "{} `{}` holds a cloud access key id, one half of a credential pair: {why}",
            a.place.keyword(),
            a.name.value
        ),
    );
    if let Some(v) = a.value.as_ref().filter(|v| !v.value.is_empty()) {
        finding.evidence = Some(format!("{}={}", a.name.value, secrets::redact(&v.value)));
        finding.secret = Some(v.span);
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::config::Settings;
    use crate::rules::dockerfile::helpers::testing::{findings_with, lines};
    use crate::secrets::{ValueKind, Verdict, is_secret_name, judge};

    #[test]
    fn env_values_that_cannot_be_secrets() {
        let src = "FROM alpine\nENV DB_PASSWORD=\"\" ALLOW_EMPTY_PASSWORD=no API_KEY=xxxxxxxx\nENV PRIVATE_KEY=/root/.ssh/id_rsa\nENV GOOGLE_CREDENTIALS key.json\nARG NPM_TOKEN=\"\"\nENV ADMIN_PASSWORD=changeme\nENV JBOSS_PASS **Random**\n";
        // placeholders (`xxxxxxxx`, `changeme`) are D013's
        assert_eq!(lines(check, src), [5]);
    }

    #[test]
    fn public_keys_and_file_variables_are_not_secrets() {
        let src = "FROM alpine\nARG MINISIGN_PUBKEY=RWSGOq2NVecA2UPNdBUZykf1CCb147pkmdtYxgb3Ti+JO/wCYvhbAb/U\nENV SIGNING_KEY=RWSGOq2NVecA2UPNdBUZykf1CCb147pkmdtYxgb3Ti+JO/wCYvhbAb/U\nARG SIGNING_KEY=RWSGOq2NVecA2UPNdBUZykf1CCb147pkmdtYxgb3Ti+JO/wCYvhbAb/U\nENV DEPLOY_KEY=\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0d8T3xN0o0eXn2d9hY7K2wS4zA1bQ0yJ8fV6uR5sE ci\"\nENV COSIGN_PUBLIC_KEY=q8Zr2LmX0vT5nK7wP4sY1bH9\nENV DB_PASSWORD_FILE=/run/secrets/db\nARG DB_PASSWORD_FILE\n";
        assert!(lines(check, src).is_empty());
    }

    #[test]
    fn an_access_key_id_alone_is_reported_with_its_pair_only_the_secret() {
        let alone = "ARG AWS_ACCESS_KEY_ID\nFROM debian:12\nENV S3_ACCESS_KEY_ID=AKIAZ3MSJV4WXYQ5P7TN\nENV OTHER_ACCESS_KEY_ID=\"\"\n";
        assert_eq!(lines(check, alone), [1, 3]);
        let pair = "FROM debian:12\nARG AWS_ACCESS_KEY_ID\nARG AWS_SECRET_ACCESS_KEY\n";
        assert_eq!(lines(check, pair), [3]);
        let allowed = Settings {
            secret_allow: vec!["*_access_key_id".into()],
            ..Settings::default()
        };
        // allowed by name, the AKIA value is still judged by its shape
        let got: Vec<usize> = findings_with(check, alone, &allowed)
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(got, [3]);
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
        assert_eq!(
            judge("SUPERCRONIC", "supercronic-linux-amd64", none),
            Verdict::NotSecret
        );
        assert_eq!(
            judge(
                "GISTURL",
                "yuhisa-jp/4cbcd6dc79570c55f6d948a82dbfca91",
                none
            ),
            Verdict::NotSecret
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
        let none: &[String] = &[];
        let random = "q8Zr2LmX0vT5nK7wP4sY1bH9";
        let secret = |k| Verdict::Secret(Some(k));
        assert_eq!(
            judge("SETTING", random, none),
            secret(ValueKind::HighEntropy)
        );
        assert_eq!(judge("BUILD_REF", random, none), Verdict::NotSecret);
        assert_eq!(
            judge("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64", none),
            Verdict::NotSecret
        );
        assert_eq!(
            judge("APP_VERSION", "AKIA2E0A8F3B244C9986", none),
            secret(ValueKind::AwsAccessKey)
        );
        assert_eq!(
            judge("MIRROR", "https://user:hunter22@mirror.acme.dev", none),
            secret(ValueKind::CredentialUrl)
        );
        assert_eq!(judge("DB", "${DB_PASSWORD}", none), Verdict::NotSecret);
    }
}
