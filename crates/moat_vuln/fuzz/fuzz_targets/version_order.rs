//! Two arbitrary strings, in every version order: the comparison never panics, puts a version
//! level with itself, and is antisymmetric (`compare(a, b) == compare(b, a).reverse()`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_vuln::Scheme;

const SCHEMES: [Scheme; 5] = [
    Scheme::Dpkg,
    Scheme::Apk,
    Scheme::Semver,
    Scheme::Pep440,
    Scheme::Rpm,
];

fuzz_target!(|input: (&str, &str)| {
    let (a, b) = input;
    for scheme in SCHEMES {
        let ab = scheme.compare(a, b);
        let ba = scheme.compare(b, a);
        assert_eq!(ab, ba.reverse(), "{scheme:?}: {a:?} vs {b:?} is {ab:?}, the other way {ba:?}");
        assert_eq!(
            scheme.compare(a, a),
            std::cmp::Ordering::Equal,
            "{scheme:?}: {a:?} vs itself"
        );
    }
});
