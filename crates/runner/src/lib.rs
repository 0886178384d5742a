//! The lab's runner: reads MNIST-format IDX files, trains the autoencoders, measures them,
//! draws the figures and writes the report. `tp --help` lists the subcommands.
//!
//! The data's way, one folder each: [`data`] (IDX files, datasets, corruptions of the
//! input) → [`train`] (the one trainer: batches, steps, `metrics.csv`, checkpoints, the run
//! folder's lock) → [`instruments`] (quality measures, the classifier, k-means, latent
//! statistics) → [`figures`] (PNG grids, SVG charts) → [`experiments`] (the registry; each
//! experiment measures into `results.json`, then renders its section) → [`report`]
//! (`report.md`, assembled from the `results.json` files alone).
#![warn(missing_docs)]
pub mod app;
pub mod bench;
pub mod cli;
pub mod data;
pub mod experiments;
pub mod figures;
pub mod fsutil;
pub mod instruments;
pub mod page;
pub mod report;
pub mod train;

/// A tour of the code: one batch from the bytes on disk to the line of `report.md` it ends
/// up in (`docs/tour.md`, whose Rust blocks run as tests).
#[doc = include_str!("../../../docs/tour.md")]
pub mod tour {}
