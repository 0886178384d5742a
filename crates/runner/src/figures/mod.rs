//! The figures of the report: image grids (PNG) and charts (SVG).

pub mod chart;
pub mod grid;
pub mod legend;
pub mod scatter;
pub mod ticks;
