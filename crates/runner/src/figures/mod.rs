//! The figures of the report: image grids (PNG, or SVG with their rows and columns
//! labelled) and charts (SVG).

pub mod chart;
pub mod grid;
pub mod labelled;
pub mod legend;
pub mod scatter;
pub mod ticks;
