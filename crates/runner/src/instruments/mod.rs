//! What the experiments measure with: image quality ([`quality`]: MSE, PSNR, SSIM), a
//! softmax classifier on features ([`classify`]), k-means and the clustering error
//! ([`cluster`]), k-nearest-neighbour classification of codes ([`knn`]), a VAE's negative
//! ELBO per image ([`elbo`]), statistics of codes ([`latent`]: MMD, nearest-mean shares), a
//! digit reader that says whether a decoded image reads as a digit ([`reader`]), and the
//! Fréchet distance between two sets of the reader's features ([`frechet`]), and the mean ±
//! sd of repeated measurements ([`stats`]).
pub mod classify;
pub mod cluster;
pub mod elbo;
pub mod frechet;
pub mod knn;
pub mod latent;
pub mod quality;
pub mod reader;
pub mod stats;
