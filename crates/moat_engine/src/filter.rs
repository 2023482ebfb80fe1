//! Which containers to read: name and image globs, labels; include and exclude lists.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// One condition on a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The container's name matches a glob (`*` any text, `?` one character).
    Name(String),
    /// The image the container was created with (as named at creation, `nginx:1.27`) matches
    /// a glob.
    Image(String),
    /// The container has label `key`, with `value` when one is given.
    Label {
        /// Label key.
        key: String,
        /// Required value; `None` for any value.
        value: Option<String>,
    },
}

impl FromStr for Selector {
    type Err = String;

    /// Parses `name=GLOB`, `image=GLOB`, `label=KEY` or `label=KEY=VALUE`; a bare `GLOB` is a
    /// name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (kind, rest) = s.split_once('=').unwrap_or(("name", s));
        if rest.is_empty() {
            return Err(format!("empty selector `{s}`"));
        }
        match kind {
            "name" => Ok(Selector::Name(rest.to_string())),
            "image" => Ok(Selector::Image(rest.to_string())),
            "label" => {
                let (key, value) = match rest.split_once('=') {
                    Some((k, v)) => (k, Some(v.to_string())),
                    None => (rest, None),
                };
                if key.is_empty() {
                    return Err(format!("no label key in `{s}`"));
                }
                Ok(Selector::Label {
                    key: key.to_string(),
                    value,
                })
            }
            other => Err(format!(
                "unknown selector `{other}` in `{s}` (expected name=, image= or label=)"
            )),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Name(g) => write!(f, "name={g}"),
            Selector::Image(g) => write!(f, "image={g}"),
            Selector::Label { key, value: None } => write!(f, "label={key}"),
            Selector::Label {
                key,
                value: Some(v),
            } => write!(f, "label={key}={v}"),
        }
    }
}

impl Selector {
    /// Whether a container with this name, image and labels meets the condition.
    pub fn matches(&self, name: &str, image: &str, labels: &HashMap<String, String>) -> bool {
        match self {
            Selector::Name(g) => glob(g, name.trim_start_matches('/')),
            Selector::Image(g) => glob(g, image),
            Selector::Label { key, value } => labels
                .get(key)
                .is_some_and(|v| value.as_ref().is_none_or(|want| want == v)),
        }
    }
}

/// Include and exclude lists: a container is read when the include list is empty or one of
/// its selectors matches, and no exclude selector matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Any of these (all containers when empty).
    pub include: Vec<Selector>,
    /// None of these.
    pub exclude: Vec<Selector>,
}

impl Filter {
    /// Whether a container with this name, image and labels is read.
    pub fn matches(&self, name: &str, image: &str, labels: &HashMap<String, String>) -> bool {
        (self.include.is_empty() || self.include.iter().any(|s| s.matches(name, image, labels)))
            && !self.exclude.iter().any(|s| s.matches(name, image, labels))
    }

    /// Whether the filter lets every container through.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}

/// Glob match of the whole text: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // position of the last `*` and the text position it was tried at
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn globs() {
        assert!(glob("web*", "web-1"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*-db-*", "shop-db-1"));
        assert!(!glob("web", "web-1"));
        assert!(glob("nginx:*", "nginx:1.27"));
        assert!(glob("*a*a*", "banana"));
        assert!(!glob("*x*", "banana"));
    }

    #[test]
    fn selectors_parse() {
        assert_eq!("web*".parse(), Ok(Selector::Name("web*".into())));
        assert_eq!(
            "image=nginx:*".parse(),
            Ok(Selector::Image("nginx:*".into()))
        );
        assert_eq!(
            "label=com.docker.compose.project=shop".parse(),
            Ok(Selector::Label {
                key: "com.docker.compose.project".into(),
                value: Some("shop".into())
            })
        );
        assert_eq!(
            "label=moat.skip".parse(),
            Ok(Selector::Label {
                key: "moat.skip".into(),
                value: None
            })
        );
        assert!("label==x".parse::<Selector>().is_err());
        assert!("colour=red".parse::<Selector>().is_err());
        assert!("name=".parse::<Selector>().is_err());
        assert_eq!(
            "label=a=b".parse::<Selector>().unwrap().to_string(),
            "label=a=b"
        );
    }

    #[test]
    fn include_and_exclude() {
        let shop = labels(&[("com.docker.compose.project", "shop")]);
        let none = labels(&[]);
        let all = Filter::default();
        assert!(all.is_empty());
        assert!(all.matches("/web", "nginx", &none));
        let f = Filter {
            include: vec![
                "label=com.docker.compose.project=shop".parse().unwrap(),
                "image=postgres:*".parse().unwrap(),
            ],
            exclude: vec!["name=*-debug".parse().unwrap()],
        };
        assert!(f.matches("/web", "nginx", &shop));
        assert!(f.matches("db", "postgres:16", &none));
        assert!(!f.matches("db", "mysql:8", &none));
        assert!(!f.matches("web-debug", "nginx", &shop));
        let other = labels(&[("com.docker.compose.project", "blog")]);
        assert!(!f.matches("web", "nginx", &other));
    }
}
