//! What the experiments measure with: image quality ([`quality`]: MSE, PSNR, SSIM), a
//! softmax classifier on features ([`classify`]), k-means and the clustering error
//! ([`cluster`]), k-nearest-neighbour classification of codes ([`knn`]), a VAE's negative
//! ELBO per image ([`elbo`]), and statistics of codes ([`latent`]: MMD, nearest-mean
//! shares).
pub mod classify;
pub mod cluster;
pub mod elbo;
pub mod knn;
pub mod latent;
pub mod quality;
