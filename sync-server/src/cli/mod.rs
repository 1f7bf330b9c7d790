//! The server binary's commands: `serve` (the sync API and the back office), `admin` (one-off
//! commands against the database file), `releases` (builds of the app and the minimum version)
//! and `demo` (a city with simulated phones). main.rs parses
//! the configuration and calls in here.

pub mod admin;
pub mod demo;
pub mod releases;
pub mod serve;
