//! moat audit: sources, facts, rules, configuration.
#![deny(missing_docs)]
