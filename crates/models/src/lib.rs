//! The autoencoders, built from layers (a later issue).
