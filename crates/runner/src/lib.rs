//! The lab's runner: reads MNIST-format IDX files, trains the autoencoders, measures them,
//! draws the figures and writes the report. `tp --help` lists the subcommands.
//!
//! The data's way: [`idx`] (validated bytes) → [`dataset`] (images and labels, batches) →
//! [`train`] (the loop: tape, loss, backward, Adam; [`checkpoint`] after every epoch) →
//! [`quality`] (MSE, PSNR, SSIM) → [`figures`] (PNG grids, SVG charts) → [`lab`] (the
//! exercises) → [`report`] (`report.md`).
#![warn(missing_docs)]
pub mod adversarial;
pub mod app;
pub mod bench;
pub mod checkpoint;
pub mod classify;
pub mod cli;
pub mod cluster;
pub mod corrupt;
pub mod dataset;
pub mod figures;
pub mod fsutil;
pub mod idx;
pub mod lab;
pub mod latent;
pub mod progress;
pub mod quality;
pub mod report;
pub mod train;
pub mod zoo;
