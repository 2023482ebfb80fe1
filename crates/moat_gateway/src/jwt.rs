//! JWT bearer tokens: signatures checked against keys from a JWKS file (picked by `kid`) or one
//! PEM public key, then the registered claims (`exp`, `nbf` with a small leeway, required `iss`
//! and `aud`), then what a route asks for (scopes, claim values). The consumer id is a chosen
//! claim (`sub` by default).
//!
//! Only asymmetric algorithms are accepted — RS256, PS256, ES256, EdDSA — each only with a key
//! of its own type; `none` never, and HS256 only when a shared secret file is configured
//! explicitly (then nothing else). The signature and claim checks are the `jsonwebtoken`
//! crate's; this module chooses the key and the algorithm set, and maps every failure to an
//! RFC 6750 error that never repeats the token.

use std::collections::HashSet;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::{Map, Value};

/// The algorithms moat accepts with public keys.
pub const ASYMMETRIC: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// What every token must satisfy, whatever the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The issuers accepted (`iss`); at least one.
    pub issuers: Vec<String>,
    /// The audiences accepted (`aud`: one of them must be in the token); at least one.
    pub audiences: Vec<String>,
    /// Seconds of clock skew allowed for `exp` and `nbf`.
    pub leeway: u64,
    /// The claim that names the consumer (`sub`).
    pub consumer_claim: String,
}

/// One verification key.
struct Key {
    kid: Option<String>,
    decoding: DecodingKey,
    algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Verifies tokens against a key set and [`Settings`].
#[derive(Debug)]
pub struct Verifier {
    keys: Vec<Key>,
    settings: Settings,
}

/// What a route asks of a token beyond [`Settings`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteClaims {
    /// Scopes that must all be granted (`scope`, space-separated, or `scp`, a list).
    pub scopes: Vec<String>,
    /// Claims that must be present with this value (a string, or a list holding it).
    pub claims: Vec<(String, String)>,
}

/// A token that passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The consumer id (the [`Settings::consumer_claim`]).
    pub consumer: String,
    /// All claims.
    pub claims: Map<String, Value>,
}

/// Why a token was refused, as RFC 6750 names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `invalid_token` (401): malformed, bad signature, unknown key, expired, wrong issuer or
    /// audience, missing claim. The text says which, never the token.
    InvalidToken(&'static str),
    /// `insufficient_scope` (403): valid, but the route needs more.
    InsufficientScope(String),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::InvalidToken(_) => 401,
            Refusal::InsufficientScope(_) => 403,
        }
    }

    /// The `WWW-Authenticate` header value.
    pub fn challenge(&self, realm: &str) -> String {
        match self {
            Refusal::InvalidToken(why) => format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{why}\""
            ),
            Refusal::InsufficientScope(scope) => {
                format!("Bearer realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{scope}\"")
            }
        }
    }
}

fn algorithm_of(jwk_alg: KeyAlgorithm) -> Option<Algorithm> {
    match jwk_alg {
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        _ => None,
    }
}

impl Verifier {
    /// The keys of a JWKS document (`{"keys": [...]}`). Keys of algorithms moat does not accept
    /// (RS512, ES384, symmetric `oct` keys…) are refused with their position, so that a set is
    /// never silently half-used.
    pub fn from_jwks(json: &[u8], settings: Settings) -> Result<Verifier, String> {
        let set: JwkSet = serde_json::from_slice(json).map_err(|e| format!("not a JWKS: {e}"))?;
        if set.keys.is_empty() {
            return Err("the JWKS has no keys".into());
        }
        let mut keys = Vec::new();
        for (i, jwk) in set.keys.iter().enumerate() {
            let at = |m: &str| format!("keys[{i}]: {m}");
            let by_type = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => vec![Algorithm::RS256, Algorithm::PS256],
                AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                    vec![Algorithm::ES256]
                }
                AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
                AlgorithmParameters::EllipticCurve(_) => {
                    return Err(at("only the P-256 curve (ES256) is accepted"));
                }
                AlgorithmParameters::OctetKey(_) => {
                    return Err(at(
                        "symmetric (`oct`) keys are not accepted in a JWKS; use hs256_secret_file",
                    ));
                }
            };
            let algorithms = match jwk.common.key_algorithm {
                None => by_type,
                Some(a) => match algorithm_of(a) {
                    Some(a) if by_type.contains(&a) => vec![a],
                    _ => {
                        return Err(at(&format!(
                            "algorithm {a:?} is not accepted (RS256, PS256, ES256, EdDSA)"
                        )));
                    }
                },
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| at(&format!("unusable key: {e}")))?;
            keys.push(Key {
                kid: jwk.common.key_id.clone(),
                decoding: key,
                algorithms,
            });
        }
        Verifier::new(keys, settings)
    }

    /// One PEM public key (`-----BEGIN PUBLIC KEY-----` or `RSA PUBLIC KEY`): RSA for RS256 and
    /// PS256, P-256 for ES256, Ed25519 for EdDSA.
    pub fn from_pem(pem: &[u8], settings: Settings) -> Result<Verifier, String> {
        let (key, algorithms) = if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
            (k, vec![Algorithm::RS256, Algorithm::PS256])
        } else if let Ok(k) = DecodingKey::from_ec_pem(pem) {
            (k, vec![Algorithm::ES256])
        } else if let Ok(k) = DecodingKey::from_ed_pem(pem) {
            (k, vec![Algorithm::EdDSA])
        } else {
            return Err("not a PEM RSA, P-256 or Ed25519 public key".into());
        };
        Verifier::new(
            vec![Key {
                kid: None,
                decoding: key,
                algorithms,
            }],
            settings,
        )
    }

    /// A shared secret for HS256, configured explicitly (at least 32 bytes): then HS256 is the
    /// only algorithm accepted.
    pub fn from_hs256_secret(secret: &[u8], settings: Settings) -> Result<Verifier, String> {
        if secret.len() < 32 {
            return Err("an HS256 secret must be at least 32 bytes".into());
        }
        Verifier::new(
            vec![Key {
                kid: None,
                decoding: DecodingKey::from_secret(secret),
                algorithms: vec![Algorithm::HS256],
            }],
            settings,
        )
    }

    fn new(keys: Vec<Key>, settings: Settings) -> Result<Verifier, String> {
        if settings.issuers.is_empty() {
            return Err("`issuer` is required".into());
        }
        if settings.audiences.is_empty() {
            return Err("`audience` is required".into());
        }
        Ok(Verifier { keys, settings })
    }

    /// Number of keys.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Checks `token` (the credentials of `Authorization: Bearer`).
    pub fn verify(&self, token: &str, route: &RouteClaims) -> Result<Verified, Refusal> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Refusal::InvalidToken("malformed token"))?;
        let candidates: Vec<&Key> = self
            .keys
            .iter()
            .filter(|k| k.algorithms.contains(&header.alg))
            .filter(|k| match (&header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                (Some(_), None) => self.keys.len() == 1,
                (None, _) => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(
                if self.keys.iter().any(|k| k.algorithms.contains(&header.alg)) {
                    Refusal::InvalidToken("unknown key id")
                } else {
                    Refusal::InvalidToken("algorithm not accepted")
                },
            );
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.settings.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&self.settings.issuers);
        validation.set_audience(&self.settings.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let mut last = Refusal::InvalidToken("bad signature");
        for key in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation) {
                Ok(data) => return self.accept(data.claims, route),
                Err(e) => {
                    last = Refusal::InvalidToken(match e.kind() {
                        ErrorKind::ExpiredSignature => "token expired",
                        ErrorKind::ImmatureSignature => "token not yet valid",
                        ErrorKind::InvalidIssuer => "wrong issuer",
                        ErrorKind::InvalidAudience => "wrong audience",
                        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
                        ErrorKind::InvalidSignature => "bad signature",
                        ErrorKind::InvalidAlgorithm => "algorithm not accepted",
                        _ => "malformed token",
                    });
                    // another key with the same (or no) kid may still verify the signature;
                    // a claim failure is final
                    if !matches!(e.kind(), ErrorKind::InvalidSignature) {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }

    fn accept(&self, claims: Map<String, Value>, route: &RouteClaims) -> Result<Verified, Refusal> {
        let consumer = match claims.get(&self.settings.consumer_claim) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(Refusal::InvalidToken("the consumer claim is missing")),
        };
        let granted: HashSet<&str> = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(s)), _) | (_, Some(Value::String(s))) => {
                s.split_whitespace().collect()
            }
            (Some(Value::Array(list)), _) | (_, Some(Value::Array(list))) => {
                list.iter().filter_map(Value::as_str).collect()
            }
            _ => HashSet::new(),
        };
        let missing: Vec<&str> = route
            .scopes
            .iter()
            .map(String::as_str)
            .filter(|s| !granted.contains(s))
            .collect();
        if !missing.is_empty() {
            return Err(Refusal::InsufficientScope(route.scopes.join(" ")));
        }
        for (name, want) in &route.claims {
            let ok = match claims.get(name) {
                Some(Value::String(s)) => s == want,
                Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(want)),
                Some(Value::Bool(b)) => b.to_string() == *want,
                Some(Value::Number(n)) => n.to_string() == *want,
                _ => false,
            };
            if !ok {
                return Err(Refusal::InsufficientScope(route.scopes.join(" ")));
            }
        }
        Ok(Verified { consumer, claims })
    }
}

#[cfg(test)]
mod tests {
    //! Tokens minted by another implementation (PyJWT with `cryptography`), keys made by
    //! OpenSSL: skipped without them, unless `MOAT_REQUIRE_PYJWT=1`.
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn tools() -> bool {
        let ok = Command::new("python3")
            .args(["-c", "import jwt, cryptography"])
            .output()
            .is_ok_and(|o| o.status.success())
            && Command::new("openssl")
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                !std::env::var("MOAT_REQUIRE_PYJWT").is_ok_and(|v| v == "1"),
                "MOAT_REQUIRE_PYJWT=1 but python3 with PyJWT and cryptography, or openssl, is missing"
            );
            eprintln!(
                "skipped: PyJWT/cryptography or openssl missing (pip install pyjwt cryptography)"
            );
        }
        ok
    }

    fn openssl(dir: &Path, args: &[&str]) {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Keys: RSA, P-256 and Ed25519 pairs (PEM), and a second RSA and P-256 key the verifiers do
    /// not know; made once for every test of this module (RSA key generation is slow).
    fn keys() -> &'static Path {
        static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
        DIR.get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            for (name, algorithm, option) in [
                ("rsa", "RSA", Some("rsa_keygen_bits:2048")),
                ("ec", "EC", Some("ec_paramgen_curve:P-256")),
                ("ed", "ED25519", None),
                ("other", "RSA", Some("rsa_keygen_bits:2048")),
                ("other-ec", "EC", Some("ec_paramgen_curve:P-256")),
            ] {
                let key = format!("{name}.key");
                let mut args = vec!["genpkey", "-algorithm", algorithm, "-out", &key];
                if let Some(o) = option {
                    args.extend(["-pkeyopt", o]);
                }
                openssl(dir, &args);
                let public = format!("{name}.pub");
                openssl(dir, &["pkey", "-in", &key, "-pubout", "-out", &public]);
            }
            tmp
        })
        .path()
    }

    /// A token signed by PyJWT: `alg`, the private key file, claims as JSON (`exp`/`nbf` given
    /// as offsets from now when they are numbers below 10^6), headers as JSON.
    fn mint(dir: &Path, alg: &str, key: &str, claims: &str, headers: &str) -> String {
        let script = r#"
import json, sys, time, jwt
alg, key, claims, headers = sys.argv[1:5]
claims = json.loads(claims)
now = int(time.time())
for k in ("exp", "nbf", "iat"):
    if isinstance(claims.get(k), int) and abs(claims[k]) < 10**6:
        claims[k] = now + claims[k]
secret = open(key, "rb").read()
print(jwt.encode(claims, secret, algorithm=alg, headers=json.loads(headers)))
"#;
        let o = Command::new("python3")
            .args(["-c", script, alg, key, claims, headers])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "PyJWT: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    }

    /// An HS256 token whose HMAC key is the bytes of a public key file: what an attacker who
    /// knows the public key signs, hoping the verifier uses it as a shared secret (PyJWT
    /// itself refuses to, so the token is put together by hand).
    fn hmac_with_public_key(dir: &Path, key: &str, claims: &str) -> String {
        let script = r#"
import base64, hmac, hashlib, json, sys, time
key, claims = sys.argv[1:3]
claims = json.loads(claims)
claims["exp"] = int(time.time()) + 300
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=")
head = b(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "r1"}).encode()) + b"." + b(json.dumps(claims).encode())
sig = hmac.new(open(key, "rb").read(), head, hashlib.sha256).digest()
print((head + b"." + b(sig)).decode())
"#;
        let o = Command::new("python3")
            .args(["-c", script, key, claims])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    }

    /// A JWKS of the public keys, written by PyJWT's `to_jwk`.
    fn jwks(dir: &Path, keys: &[(&str, &str, &str)]) -> Vec<u8> {
        let script = r#"
import json, sys
from jwt.algorithms import RSAAlgorithm, ECAlgorithm, OKPAlgorithm
from cryptography.hazmat.primitives.serialization import load_pem_public_key
out = []
for spec in sys.argv[1:]:
    path, kid, alg = spec.split(",")
    pub = load_pem_public_key(open(path, "rb").read())
    cls = {"RS256": RSAAlgorithm, "PS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}[alg]
    jwk = json.loads(cls.to_jwk(pub))
    jwk["kid"] = kid
    jwk["alg"] = alg
    jwk["use"] = "sig"
    out.append(jwk)
print(json.dumps({"keys": out}))
"#;
        let specs: Vec<String> = keys
            .iter()
            .map(|(p, k, a)| format!("{p},{k},{a}"))
            .collect();
        let o = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(&specs)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    }

    fn settings() -> Settings {
        Settings {
            issuers: vec!["https://id.example.test".into()],
            audiences: vec!["orders-api".into()],
            leeway: 5,
            consumer_claim: "sub".into(),
        }
    }

    const GOOD: &str = r#"{"iss": "https://id.example.test", "aud": "orders-api", "sub": "partner-a", "exp": 300, "scope": "orders:read orders:write"}"#;

    #[test]
    fn tokens_from_another_implementation() {
        if !tools() {
            return;
        }
        let dir = keys();
        let set = jwks(
            dir,
            &[
                ("rsa.pub", "r1", "RS256"),
                ("ec.pub", "e1", "ES256"),
                ("ed.pub", "d1", "EdDSA"),
            ],
        );
        let v = Verifier::from_jwks(&set, settings()).unwrap();
        assert_eq!(v.key_count(), 3);
        let none = RouteClaims::default();
        for (alg, key, kid) in [
            ("RS256", "rsa.key", "r1"),
            ("ES256", "ec.key", "e1"),
            ("EdDSA", "ed.key", "d1"),
        ] {
            let t = mint(dir, alg, key, GOOD, &format!(r#"{{"kid": "{kid}"}}"#));
            let ok = v
                .verify(&t, &none)
                .unwrap_or_else(|e| panic!("{alg}: {e:?}"));
            assert_eq!(ok.consumer, "partner-a");
        }
        // PS256 with the RSA key, named in the JWKS as RS256: refused (the key's alg is fixed)
        let t = mint(dir, "PS256", "rsa.key", GOOD, r#"{"kid": "r1"}"#);
        assert_eq!(
            v.verify(&t, &none),
            Err(Refusal::InvalidToken("algorithm not accepted"))
        );
        // a key the set does not have, under a kid it has: bad signature
        let t = mint(dir, "RS256", "other.key", GOOD, r#"{"kid": "r1"}"#);
        assert_eq!(
            v.verify(&t, &none),
            Err(Refusal::InvalidToken("bad signature"))
        );
        // an unknown kid
        let t = mint(dir, "RS256", "rsa.key", GOOD, r#"{"kid": "zz"}"#);
        assert_eq!(
            v.verify(&t, &none),
            Err(Refusal::InvalidToken("unknown key id"))
        );
        // HS256 signed with the public key as the secret (the key-confusion attack)
        let t = hmac_with_public_key(dir, "rsa.pub", GOOD);
        assert_eq!(
            v.verify(&t, &none),
            Err(Refusal::InvalidToken("algorithm not accepted"))
        );
        // alg none
        let t = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(
                r#"{"iss":"https://id.example.test","aud":"orders-api","sub":"x","exp":9999999999}"#
            )
        );
        assert!(matches!(v.verify(&t, &none), Err(Refusal::InvalidToken(_))));
        for garbage in ["", "abc", "a.b.c", "Bearer x", "..."] {
            assert_eq!(
                v.verify(garbage, &none),
                Err(Refusal::InvalidToken("malformed token")),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn registered_claims_and_route_requirements() {
        if !tools() {
            return;
        }
        let dir = keys();
        let v =
            Verifier::from_pem(&std::fs::read(dir.join("ec.pub")).unwrap(), settings()).unwrap();
        let none = RouteClaims::default();
        let cases = [
            (
                r#"{"iss": "https://id.example.test", "aud": "orders-api", "sub": "a", "exp": -60}"#,
                Err(Refusal::InvalidToken("token expired")),
            ),
            // within the leeway
            (
                r#"{"iss": "https://id.example.test", "aud": "orders-api", "sub": "a", "exp": -2}"#,
                Ok("a"),
            ),
            (
                r#"{"iss": "https://id.example.test", "aud": "orders-api", "sub": "a", "exp": 300, "nbf": 120}"#,
                Err(Refusal::InvalidToken("token not yet valid")),
            ),
            (
                r#"{"iss": "https://evil.example", "aud": "orders-api", "sub": "a", "exp": 300}"#,
                Err(Refusal::InvalidToken("wrong issuer")),
            ),
            (
                r#"{"iss": "https://id.example.test", "aud": "billing", "sub": "a", "exp": 300}"#,
                Err(Refusal::InvalidToken("wrong audience")),
            ),
            (
                r#"{"iss": "https://id.example.test", "aud": ["billing", "orders-api"], "sub": "b", "exp": 300}"#,
                Ok("b"),
            ),
            (
                r#"{"iss": "https://id.example.test", "aud": "orders-api", "sub": "a"}"#,
                Err(Refusal::InvalidToken("a required claim is missing")),
            ),
            (
                r#"{"aud": "orders-api", "sub": "a", "exp": 300}"#,
                Err(Refusal::InvalidToken("a required claim is missing")),
            ),
            (
                r#"{"iss": "https://id.example.test", "aud": "orders-api", "exp": 300}"#,
                Err(Refusal::InvalidToken("the consumer claim is missing")),
            ),
        ];
        for (claims, want) in cases {
            let t = mint(dir, "ES256", "ec.key", claims, "{}");
            let got = v.verify(&t, &none).map(|ok| ok.consumer);
            assert_eq!(got, want.map(str::to_string), "{claims}");
        }
        let route = RouteClaims {
            scopes: vec!["orders:write".into()],
            claims: vec![("tier".into(), "gold".into())],
        };
        let t = mint(
            dir,
            "ES256",
            "ec.key",
            r#"{"iss": "https://id.example.test", "aud": "orders-api", "sub": "a", "exp": 300, "scope": "orders:read orders:write", "tier": "gold"}"#,
            "{}",
        );
        assert!(v.verify(&t, &route).is_ok());
        let t = mint(
            dir,
            "ES256",
            "ec.key",
            r#"{"iss": "https://id.example.test", "aud": "orders-api", "sub": "a", "exp": 300, "scp": ["orders:read"], "tier": "gold"}"#,
            "{}",
        );
        let refused = v.verify(&t, &route).unwrap_err();
        assert_eq!(refused.status(), 403);
        assert_eq!(
            refused.challenge("api"),
            "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"orders:write\""
        );
        let t = mint(
            dir,
            "ES256",
            "ec.key",
            r#"{"iss": "https://id.example.test", "aud": "orders-api", "sub": "a", "exp": 300, "scope": "orders:write", "tier": "silver"}"#,
            "{}",
        );
        assert_eq!(v.verify(&t, &route).unwrap_err().status(), 403);
        // the challenge never holds the token
        let t = mint(dir, "ES256", "other-ec.key", GOOD, "{}");
        let refused = v.verify(&t, &none).unwrap_err();
        assert_eq!(refused.status(), 401);
        assert!(!refused.challenge("api").contains(&t[..20]));
    }

    #[test]
    fn shared_secret_only_when_configured() {
        if !tools() {
            return;
        }
        let dir = keys();
        std::fs::write(dir.join("secret"), "0123456789abcdef0123456789abcdef").unwrap();
        let v =
            Verifier::from_hs256_secret(b"0123456789abcdef0123456789abcdef", settings()).unwrap();
        let t = mint(dir, "HS256", "secret", GOOD, "{}");
        assert!(v.verify(&t, &RouteClaims::default()).is_ok());
        let t = mint(dir, "RS256", "rsa.key", GOOD, "{}");
        assert_eq!(
            v.verify(&t, &RouteClaims::default()),
            Err(Refusal::InvalidToken("algorithm not accepted"))
        );
        assert!(Verifier::from_hs256_secret(b"short", settings()).is_err());
    }

    #[test]
    fn bad_key_material_is_refused_clearly() {
        let e = Verifier::from_jwks(b"{", settings()).unwrap_err();
        assert!(e.starts_with("not a JWKS"), "{e}");
        let e = Verifier::from_jwks(br#"{"keys": []}"#, settings()).unwrap_err();
        assert!(e.contains("no keys"), "{e}");
        let e = Verifier::from_jwks(
            br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#,
            settings(),
        )
        .unwrap_err();
        assert!(e.contains("keys[0]: symmetric"), "{e}");
        let e = Verifier::from_pem(
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            settings(),
        )
        .unwrap_err();
        assert!(e.contains("not a PEM"), "{e}");
        let mut s = settings();
        s.audiences.clear();
        let e = Verifier::from_hs256_secret(&[7; 32], s).unwrap_err();
        assert!(e.contains("`audience` is required"), "{e}");
    }

    fn b64(s: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..=c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }
}
