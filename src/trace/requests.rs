//! Formal trace requests between agencies.
