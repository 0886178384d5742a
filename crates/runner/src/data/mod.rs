//! The data: IDX files ([`idx`]), the datasets and their batches ([`dataset`]), and what a
//! run may do to an input before the model reads it ([`corrupt`]: noise, holes, half the
//! resolution); which data set a folder holds and what its classes are called
//! ([`identity`]).
pub mod corrupt;
pub mod dataset;
pub mod identity;
pub mod idx;
