//! The adversarial autoencoder with a categorical code, for clustering without labels
//! (Makhzani et al. 2015, section 6) and, with a supervised phase on a few labelled images,
//! for semi-supervised classification (section 5). The encoder gives each image a softmax
//! over `K` clusters, `y`, and a continuous "style" code, `z`; the decoder redraws the image
//! from both. Two discriminators make `y` look like one-hot samples of a uniform categorical
//! prior (so each image picks one cluster, and all clusters get used) and `z` like `N(0, I)`.
//! The cluster of an image is `argmax y`.
//!
//! Three changes from the paper, for a run of minutes rather than thousands of epochs, the
//! last two [`Recipe`] switches so that the report can show the game with and without them:
//! - the cluster discriminator sees each `y` next to its batch's mean `y` (minibatch
//!   features, Salimans et al. 2016): a batch of one-hot prior samples has a mean near
//!   uniform, an encoder that sends every image to one cluster a one-hot mean;
//! - [`Recipe::hard_code`]: the decoder and the cluster discriminator get the one-hot of
//!   `argmax y`, with the gradient of the softmax passed straight through (Bengio et al.
//!   2013). A softmax is never exactly one-hot, so a discriminator shown exact one-hot prior
//!   samples tells the two apart by the largest value alone and wins the game for good
//!   (measured on the committed sample, `tp clustering`: the discriminators' summed loss
//!   sits near 1.4 of the 2.77 at chance while the encoder's climbs past 8 in 20 epochs),
//!   and a decoder fed the softmax can read more than a cluster from its soft values;
//! - [`Recipe::gumbel`]: in training, that one-hot is of a sample of `y` (Gumbel noise on the
//!   logits, Jang et al. 2017), not of its argmax. With the argmax alone the search stalls:
//!   the same model given the true digits as its code reconstructs the test images better
//!   than with the clusters it finds (the clustering experiment's yardstick), so the game
//!   stops short of clusters its own objective prefers; a sampled code lets an image near a
//!   border try the other cluster.
//!
//! With labels (semi-supervised), the softmax code trains well: the labelled batches tie
//! each cluster to its class (see `tp semisupervised`).
//!
//! None of this says which images belong together, and the game settles on clusters that
//! are not the digits. [`Recipe::SELF_AUGMENTED`] adds what clustering methods that find
//! them use (IMSAT, Hu et al. 2017): the cluster head learns to give an image moved by the
//! small step that changes its prediction most the prediction it gives the image (virtual
//! adversarial training, Miyato et al. 2018, [`ClusterAae::smoothness_step`]) and the image
//! shifted by a pixel or two the same prediction too (shift consistency), and two
//! entropies, each image's `y` towards one-hot and the batch's mean towards uniform, take
//! the cluster discriminator's place.

use crate::aae::critic;
use layers::optim::{Adam, Optimizer};
use layers::{
    Activation, BatchNorm, Flatten, Graph, Linear, Loss, Module, Sequential, StepError, Unflatten,
};
use rand_distr::{Distribution, Uniform};
use tensor::{Reduction, Rng, Tape, Tensor, Var};

/// The style code's size.
pub const STYLE: usize = 2;

/// How a categorical AAE trains: the switches the report compares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    /// The decoder and the cluster discriminator get `onehot(argmax y)` (gradients straight
    /// through to the softmax) instead of the softmax `y`.
    pub hard_code: bool,
    /// The learning rate of the encoder's phase against the discriminators, as a share of
    /// the reconstruction's (the discriminators learn at [`CRITIC_SHARE`] of it).
    pub generator_share: f32,
    /// The standard deviation of Gaussian noise added to the encoder's input in the
    /// reconstruction and supervised phases (the target stays clean); 0 for none.
    pub input_noise: f32,
    /// In training, Gumbel noise is added to the cluster logits before the softmax (the
    /// Gumbel-softmax of Jang et al. 2017 and Maddison et al. 2017, at temperature 1): the
    /// one-hot code is then a sample of `y` rather than its argmax, so an image near the
    /// border of two clusters tries both and the reconstruction says which serves it better.
    /// Evaluation (the clusters, the test BCE) reads the noiseless argmax.
    pub gumbel: bool,
    /// Batch normalisation after each of the trunk's linear layers (training: the batch's
    /// statistics; evaluation: the running ones).
    pub batch_norm: bool,
    /// Whether the cluster discriminator plays. Off, nothing adversarial shapes `y`: only
    /// [`Recipe::balance`]'s entropies (if any) match it to the categorical prior.
    pub cluster_critic: bool,
    /// The weight of self-augmented training of the cluster head (virtual adversarial
    /// training, Miyato et al. 2018, as IMSAT uses it, Hu et al. 2017): the KL divergence
    /// from `p(y|x)` to `p(y|x + r)`, `r` the small move of the image that changes its
    /// prediction most, so that images close in pixels share a cluster. 0 for none.
    pub smoothness: f32,
    /// The weight λ of IMSAT's entropies on the cluster head, `λ·(H(y|x) − μ·H(y))`, μ =
    /// [`MARGINAL_WEIGHT`]: each image's `y` pushed towards one-hot, the batch's mean `y`
    /// towards uniform, the categorical prior matched in closed form. 0 for none.
    pub balance: f32,
    /// The learning rate of the self-augmented phase ([`Recipe::smoothness`],
    /// [`Recipe::shift_consistency`] and [`Recipe::balance`]) as a share of the
    /// reconstruction's.
    pub smoothness_share: f32,
    /// The weight of shift consistency in the self-augmented phase: the KL divergence from
    /// `p(y|x)` to `p(y|x')`, `x'` the image shifted at random by up to
    /// [`CONSISTENCY_SHIFT`] pixels along each axis (a digit moved is the same digit, a
    /// prior no pixel-wise neighbourhood gives). 0 for none.
    pub shift_consistency: f32,
}

impl Recipe {
    /// The paper's categorical code: the softmax `y` to the decoder and the discriminator,
    /// the encoder against the discriminators at their learning rate.
    pub const SOFT: Recipe = Recipe {
        hard_code: false,
        generator_share: CRITIC_SHARE,
        input_noise: 0.0,
        gumbel: false,
        batch_norm: false,
        cluster_critic: true,
        smoothness: 0.0,
        balance: 0.0,
        smoothness_share: 1.0,
        shift_consistency: 0.0,
    };
    /// The game that converges in minutes: a one-hot code and the encoder's adversarial
    /// phase at the reconstruction's learning rate.
    pub const HARD: Recipe = Recipe {
        hard_code: true,
        generator_share: 1.0,
        ..Recipe::SOFT
    };
    /// [`Recipe::HARD`] with the one-hot code drawn through Gumbel noise in training: the
    /// search the clustering experiment uses.
    pub const GUMBEL: Recipe = Recipe {
        gumbel: true,
        ..Recipe::HARD
    };
    /// [`Recipe::GUMBEL`] with self-augmented training of the cluster head
    /// ([`Recipe::smoothness`] and [`Recipe::shift_consistency`], at twice the
    /// reconstruction's learning rate) and the categorical prior matched by IMSAT's
    /// entropies ([`Recipe::balance`]) in place of the cluster discriminator; batch
    /// normalisation in the trunk (without it, in a PyTorch probe of this recipe, the images
    /// fell into 6 of the 16 clusters, 71.2% error). The style code keeps its discriminator,
    /// the decoder reads the one-hot code.
    ///
    /// Measured on the committed sample (20 epochs, seeds 0-2, 16 / 30 clusters): the
    /// smoothness alone 17.9% / 14.4% test error; with shift consistency 13.2% / 11.0%; with
    /// both at twice the learning rate, this recipe, 14.0% / 7.6%.
    pub const SELF_AUGMENTED: Recipe = Recipe {
        batch_norm: true,
        cluster_critic: false,
        smoothness: 1.0,
        balance: 0.1,
        smoothness_share: 2.0,
        shift_consistency: 1.0,
        ..Recipe::GUMBEL
    };
}

/// μ of [`Recipe::balance`]: how much more the batch's spread over the clusters weighs than
/// each image's certainty (IMSAT's value).
pub const MARGINAL_WEIGHT: f32 = 4.0;

/// Self-augmented training moves each image this share of the mean distance from a training
/// image to its [`RADIUS_NEIGHBOUR`]-th nearest other (IMSAT's values).
pub const RADIUS_SHARE: f32 = 0.25;

/// See [`RADIUS_SHARE`].
pub const RADIUS_NEIGHBOUR: usize = 10;

/// The largest shift, in pixels along each axis, of [`Recipe::shift_consistency`].
pub const CONSISTENCY_SHIFT: i64 = 2;

/// How self-augmented training moves a batch's images: the inputs of
/// [`ClusterAae::smoothness_step`] besides the images themselves.
#[derive(Clone, Copy, Debug)]
pub struct Moves<'a> {
    /// The length of each image's adversarial move (pixel units; [`Recipe::smoothness`]).
    pub radius: f32,
    /// The batch with each image shifted at random by up to [`CONSISTENCY_SHIFT`] pixels,
    /// the same shape ([`Recipe::shift_consistency`]; `None` without it).
    pub shifted: Option<&'a Tensor>,
}

impl Moves<'_> {
    /// No moves: for a recipe without self-augmented training.
    pub const NONE: Moves<'static> = Moves {
        radius: 0.0,
        shifted: None,
    };
}

/// The length of the random first move of self-augmented training's power iteration (the
/// direction it then finds does not depend on it much; IMSAT's value, in pixel units).
pub const PROBE_STEP: f32 = 10.0;

/// The losses of one training step, each a batch mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClusterLosses {
    /// Reconstruction BCE per pixel.
    pub reconstruction: f32,
    /// The two discriminators' losses, summed (each ln 4 ≈ 1.39 at chance).
    pub discriminators: f32,
    /// The encoder's loss for fooling both, summed (each ln 2 ≈ 0.69 at chance).
    pub generator: f32,
    /// The cross-entropy of the supervised phase on the labelled batch (0 without one).
    pub supervised: f32,
    /// The KL divergence of self-augmented training's adversarial move (0 without
    /// [`Recipe::smoothness`]).
    pub smoothness: f32,
}

/// Encoder trunk (784-256-256), cluster head (to `K` logits, then softmax), style head (to
/// [`STYLE`]), decoder (`K + STYLE`-256-256-784), and a discriminator for each code half
/// (`2K`-128-128-1, `y` and its batch mean, and `STYLE`-128-128-1).
pub struct ClusterAae {
    /// Images to features.
    pub trunk: Sequential,
    /// Features to cluster logits.
    pub cluster: Linear,
    /// Features to the style code.
    pub style: Linear,
    /// `[y, z]` to images.
    pub decoder: Sequential,
    /// Tells one-hot prior samples from `y`.
    pub cluster_critic: Sequential,
    /// Tells `N(0, I)` samples from `z`.
    pub style_critic: Sequential,
    /// How it trains (and whether the decoder reads the one-hot code).
    pub recipe: Recipe,
}

/// The discriminators' learning rate, as a share of the reconstruction's.
pub const CRITIC_SHARE: f32 = 0.2;

/// The step's optimizers: reconstruction, both discriminators, the encoder's adversarial
/// half, the supervised phase and the self-augmented one.
pub struct ClusterOptimizers {
    /// Encoder and decoder on the reconstruction.
    pub reconstruction: Adam,
    /// The cluster code's discriminator.
    pub cluster_critic: Adam,
    /// The style code's discriminator.
    pub style_critic: Adam,
    /// The encoder, on fooling both.
    pub generator: Adam,
    /// The trunk and the cluster head, on the labelled images' cross-entropy.
    pub supervised: Adam,
    /// The trunk and the cluster head, on self-augmented training and the entropies.
    pub smoothness: Adam,
}

impl ClusterOptimizers {
    /// Six Adams for learning rate `lr` and `recipe`'s shares.
    pub fn new(lr: f32, recipe: Recipe) -> ClusterOptimizers {
        ClusterOptimizers {
            reconstruction: Adam::new(lr),
            cluster_critic: Adam::new(lr * CRITIC_SHARE),
            style_critic: Adam::new(lr * CRITIC_SHARE),
            generator: Adam::new(lr * recipe.generator_share),
            supervised: Adam::new(lr),
            smoothness: Adam::new(lr * recipe.smoothness_share),
        }
    }
}

/// A labelled batch for the supervised phase: images `[N, 1, 28, 28]` and their classes.
pub struct LabelledBatch<'a> {
    /// The images.
    pub images: &'a Tensor,
    /// Their classes, each below the number of clusters.
    pub labels: &'a [usize],
}

impl ClusterAae {
    /// A freshly initialised model with `clusters` clusters, trained by `recipe`.
    pub fn new(clusters: usize, recipe: Recipe, rng: &mut Rng) -> ClusterAae {
        let mut trunk = Sequential::new().push(Flatten);
        for inputs in [784, 256] {
            trunk = trunk.push(Linear::new(inputs, 256, rng));
            if recipe.batch_norm {
                trunk = trunk.push(BatchNorm::new_1d(256));
            }
            trunk = trunk.push(Activation::Relu);
        }
        let cluster = Linear::new(256, clusters, rng);
        let style = Linear::new(256, STYLE, rng);
        let decoder = Sequential::new()
            .push(Linear::new(clusters + STYLE, 256, rng))
            .push(Activation::Relu)
            .push(Linear::new(256, 256, rng))
            .push(Activation::Relu)
            .push(Linear::new(256, 784, rng))
            .push(Activation::Sigmoid)
            .push(Unflatten::new(&[1, 28, 28]));
        ClusterAae {
            trunk,
            cluster,
            style,
            decoder,
            cluster_critic: critic(2 * clusters, rng),
            style_critic: critic(STYLE, rng),
            recipe,
        }
    }

    /// The number of clusters.
    pub fn clusters(&self) -> usize {
        self.cluster.features().1
    }

    /// `(logits, z)`: the cluster logits `[N, K]` and the style `[N, STYLE]`.
    fn logits_and_style(&mut self, g: &mut Graph, x: Var) -> (Var, Var) {
        let h = self.trunk.forward(g, x);
        (self.cluster.forward(g, h), self.style.forward(g, h))
    }

    /// `(y, z)`: the cluster probabilities `[N, K]` and the style `[N, STYLE]`.
    pub fn encode_parts(&mut self, g: &mut Graph, x: Var) -> (Var, Var) {
        let (logits, z) = self.logits_and_style(g, x);
        (g.softmax(logits), z)
    }

    /// `(code, z)` in training: the cluster code the decoder and the discriminator see
    /// ([`ClusterAae::gate`] of `y`, with [`Recipe::gumbel`] of `y` drawn through Gumbel noise
    /// from `rng`) and the style.
    fn training_code(&mut self, g: &mut Graph, x: Var, rng: &mut Rng) -> (Var, Var) {
        let (mut logits, z) = self.logits_and_style(g, x);
        if self.recipe.gumbel {
            let noise = g.input(gumbel_noise(g.shape(logits), rng));
            logits = g.add(logits, noise);
        }
        let y = g.softmax(logits);
        (self.gate(g, y), z)
    }

    /// The code the decoder and the cluster discriminator see: `y` itself, or with
    /// [`Recipe::hard_code`] `onehot(argmax y)` as a value and `y`'s gradient
    /// (`y + (onehot − y)`, the difference a constant off the tape).
    fn gate(&self, g: &mut Graph, y: Var) -> Var {
        if !self.recipe.hard_code {
            return y;
        }
        let k = self.clusters();
        let mut shift = g.value(y).clone();
        for row in shift.data_mut().chunks_exact_mut(k) {
            let top = argmax(row);
            for (c, v) in row.iter_mut().enumerate() {
                *v = if c == top { 1.0 - *v } else { -*v };
            }
        }
        let shift = g.input(shift);
        g.add(y, shift)
    }

    /// `x`, or `x` with the recipe's input noise.
    fn noisy(&self, x: &Tensor, rng: &mut Rng) -> Tensor {
        if self.recipe.input_noise > 0.0 {
            let noise = Tensor::normal(x.shape(), 0.0, self.recipe.input_noise, rng);
            x.add(&noise)
        } else {
            x.clone()
        }
    }

    /// The cluster discriminator's input: each row of `y` with the batch's mean row beside it.
    fn with_batch_mean(g: &mut Graph, y: Var) -> Var {
        let n = g.shape(y)[0];
        let mean = g.mean(y, &[0], true);
        let ones = g.input(Tensor::ones(&[n, 1]));
        let spread = g.mul(ones, mean);
        g.concat(&[y, spread], 1)
    }

    fn step_encoder(
        opt: &mut Adam,
        m: &mut ClusterAae,
        grads: &tensor::Gradients,
    ) -> Result<(), StepError> {
        opt.step(&mut m.trunk, grads)?;
        opt.step(&mut m.cluster, grads)?;
        opt.step(&mut m.style, grads)
    }

    /// One training step on `x [N, 1, 28, 28]`: reconstruction, both discriminators, the
    /// encoder against both, self-augmented training (with [`Recipe::smoothness`] or
    /// [`Recipe::shift_consistency`], the images moved by `moves`; unread without), then
    /// (with `labelled`) the cross-entropy of the cluster head on the labelled batch. Prior
    /// samples and noise come from `rng`.
    ///
    /// # Panics
    /// With [`Recipe::shift_consistency`] and no `moves.shifted`.
    pub fn train_step(
        &mut self,
        opts: &mut ClusterOptimizers,
        x: &Tensor,
        moves: Moves<'_>,
        labelled: Option<LabelledBatch<'_>>,
        rng: &mut Rng,
    ) -> Result<ClusterLosses, StepError> {
        self.step(opts, x, moves, labelled, None, rng)
    }

    /// [`ClusterAae::train_step`] with the decoder reading `one_hot(digit)` of each image of
    /// `x` in place of its code `y` (the rest unchanged): what the same decoder and style
    /// code reconstruct when the clusters are exactly the digits, the yardstick for the
    /// clusters the game finds. Each digit must be below the number of clusters.
    pub fn train_step_digits_as_code(
        &mut self,
        opts: &mut ClusterOptimizers,
        x: &Tensor,
        digits: &[usize],
        rng: &mut Rng,
    ) -> Result<ClusterLosses, StepError> {
        self.step(opts, x, Moves::NONE, None, Some(digits), rng)
    }

    fn step(
        &mut self,
        opts: &mut ClusterOptimizers,
        x: &Tensor,
        moves: Moves<'_>,
        labelled: Option<LabelledBatch<'_>>,
        digits: Option<&[usize]>,
        rng: &mut Rng,
    ) -> Result<ClusterLosses, StepError> {
        let n = x.shape()[0];
        let k = self.clusters();
        // 1. Reconstruction of the clean image through [code, z].
        let mut g = Graph::new();
        let target = g.input(x.clone());
        let xv = g.input(self.noisy(x, rng));
        let code = self.code(&mut g, xv, digits, Some(rng));
        let out = self.decoder.forward(&mut g, code);
        let loss = Loss::Bce.apply(&mut g, out, target, Reduction::Mean);
        let reconstruction = g.value(loss).item();
        let grads = g.backward(loss);
        if digits.is_some() {
            // The cluster head fed nothing to the decoder: it learns in the game alone.
            opts.reconstruction.step(&mut self.trunk, &grads)?;
            opts.reconstruction.step(&mut self.style, &grads)?;
        } else {
            Self::step_encoder(&mut opts.reconstruction, self, &grads)?;
        }
        opts.reconstruction.step(&mut self.decoder, &grads)?;

        // 2. The discriminators: prior samples real, codes (off the tape) fake.
        let (y_fake, z_fake) = {
            let mut g = Graph::no_grad();
            let xv = g.input(x.clone());
            let (y, z) = self.training_code(&mut g, xv, rng);
            (g.value(y).clone(), g.value(z).clone())
        };
        let pick = Uniform::new(0, k).expect("at least one cluster");
        let mut y_real = Tensor::zeros(&[n, k]);
        for row in y_real.data_mut().chunks_exact_mut(k) {
            row[pick.sample(rng)] = 1.0;
        }
        let z_real = Tensor::normal(&[n, STYLE], 0.0, 1.0, rng);
        let mut discriminators = 0.0;
        let mut critics = vec![(
            &mut self.style_critic,
            &mut opts.style_critic,
            z_real,
            z_fake,
            false,
        )];
        if self.recipe.cluster_critic {
            critics.insert(
                0,
                (
                    &mut self.cluster_critic,
                    &mut opts.cluster_critic,
                    y_real,
                    y_fake,
                    true,
                ),
            );
        }
        for (critic, opt, real, fake, is_cluster) in critics {
            let mut g = Graph::new();
            let (mut real, mut fake) = (g.input(real), g.input(fake));
            if is_cluster {
                real = Self::with_batch_mean(&mut g, real);
                fake = Self::with_batch_mean(&mut g, fake);
            }
            let (lr, lf) = (critic.forward(&mut g, real), critic.forward(&mut g, fake));
            let ones = g.input(Tensor::ones(&[n, 1]));
            let zeros = g.input(Tensor::zeros(&[n, 1]));
            let a = g.bce_with_logits_loss(lr, ones, Reduction::Mean);
            let b = g.bce_with_logits_loss(lf, zeros, Reduction::Mean);
            let loss = g.add(a, b);
            discriminators += g.value(loss).item();
            let grads = g.backward(loss);
            opt.step(critic, &grads)?;
        }

        // 3. The encoder fools both (codes labelled real); only the encoder steps.
        let mut g = Graph::new();
        let xv = g.input(x.clone());
        let (y, z) = self.training_code(&mut g, xv, rng);
        let ones = g.input(Tensor::ones(&[n, 1]));
        let lz = self.style_critic.forward(&mut g, z);
        let mut loss = g.bce_with_logits_loss(lz, ones, Reduction::Mean);
        if self.recipe.cluster_critic {
            let y = Self::with_batch_mean(&mut g, y);
            let ly = self.cluster_critic.forward(&mut g, y);
            let a = g.bce_with_logits_loss(ly, ones, Reduction::Mean);
            loss = g.add(a, loss);
        }
        let generator = g.value(loss).item();
        let grads = g.backward(loss);
        if self.recipe.cluster_critic {
            Self::step_encoder(&mut opts.generator, self, &grads)?;
        } else {
            // Only the style critic judged: the cluster head had no part in the loss.
            opts.generator.step(&mut self.trunk, &grads)?;
            opts.generator.step(&mut self.style, &grads)?;
        }

        // 4. Self-augmented training of the cluster head (not for the yardstick, whose
        // cluster head the decoder does not read).
        let self_augmented = self.recipe.smoothness > 0.0 || self.recipe.shift_consistency > 0.0;
        let smoothness = if self_augmented && digits.is_none() {
            self.smoothness_step(&mut opts.smoothness, x, moves, rng)?
        } else {
            0.0
        };

        // 5. Semi-supervised: the cluster head learns the labelled images' classes.
        let supervised = match labelled {
            Some(batch) => self.supervised_step(&mut opts.supervised, batch, rng)?,
            None => 0.0,
        };
        Ok(ClusterLosses {
            reconstruction,
            discriminators,
            generator,
            supervised,
            smoothness,
        })
    }

    /// Self-augmented training of the cluster head on images `x`: [`Recipe::smoothness`] (each
    /// image moved by `moves.radius`, pixel units), [`Recipe::shift_consistency`] (the images
    /// `moves.shifted`) and [`Recipe::balance`]'s entropies; the trunk and the cluster head
    /// step. Returns the KL divergence from `p(y|x)` to `p(y|x + r)` (0 without smoothness).
    ///
    /// `r` is found as virtual adversarial training finds it: one power iteration from a
    /// random move `d` of length [`PROBE_STEP`], `r ∝ ∇_d KL(p(y|x) ‖ p(y|x + d))`, scaled to
    /// length `moves.radius` image by image. The prediction `p(y|x)` is the target of both
    /// divergences, a constant.
    ///
    /// # Panics
    /// With [`Recipe::shift_consistency`] and no `moves.shifted`, or a recipe with neither
    /// [`Recipe::smoothness`] nor [`Recipe::shift_consistency`].
    pub fn smoothness_step(
        &mut self,
        opt: &mut Adam,
        x: &Tensor,
        moves: Moves<'_>,
        rng: &mut Rng,
    ) -> Result<f32, StepError> {
        // The target: the images' own prediction, a constant. With the entropies, the loss
        // reads the same logits, so they are taken on the loss's graph.
        let mut g = Graph::new();
        let mut target_graph = Graph::no_grad();
        let on_loss_graph = self.recipe.balance > 0.0;
        let tape = if on_loss_graph {
            &mut g
        } else {
            &mut target_graph
        };
        let xv = tape.input(x.clone());
        let own = self.cluster_logits(tape, xv);
        let y = tape.softmax(own);
        let target = tape.value(y).clone();
        let mut terms = Vec::new();
        let mut value = 0.0;
        if self.recipe.smoothness > 0.0 {
            let start = rows_to_length(&Tensor::normal(x.shape(), 0.0, 1.0, rng), PROBE_STEP);
            let direction = self.sensitive_direction(x, &start, &target);
            let r = rows_to_length(&direction, moves.radius);
            let moved = g.input(x.add(&r));
            let kl = self.divergence(&mut g, moved, &target);
            value = g.value(kl).item();
            terms.push(g.mul_scalar(kl, self.recipe.smoothness));
        }
        if self.recipe.shift_consistency > 0.0 {
            let shifted = moves
                .shifted
                .expect("shift consistency reads the batch shifted at random");
            let shifted = g.input(shifted.clone());
            let kl = self.divergence(&mut g, shifted, &target);
            terms.push(g.mul_scalar(kl, self.recipe.shift_consistency));
        }
        let mut loss = terms
            .into_iter()
            .reduce(|a, b| g.add(a, b))
            .expect("self-augmented training has a smoothness or a shift term");
        if self.recipe.balance > 0.0 {
            let entropies = certainty_and_spread(&mut g, own);
            let weighted = g.mul_scalar(entropies, self.recipe.balance);
            loss = g.add(loss, weighted);
        }
        let grads = g.backward(loss);
        opt.step(&mut self.trunk, &grads)?;
        opt.step(&mut self.cluster, &grads)?;
        Ok(value)
    }

    /// One power iteration: `∇_d KL(p ‖ p(y|x + d))` at the move `start`, the direction
    /// in which the prediction for each image of `x` changes fastest (its length
    /// meaningless; [`ClusterAae::smoothness_step`] scales it).
    fn sensitive_direction(&mut self, x: &Tensor, start: &Tensor, p: &Tensor) -> Tensor {
        // Only the move's gradient is wanted: the weights are constants on this tape.
        let mut g = Graph::constant_weights();
        let d = g.input_with_grad(start.clone());
        let xv = g.input(x.clone());
        let moved = g.add(xv, d);
        let kl = self.divergence(&mut g, moved, p);
        let mut grads = g.backward(kl);
        grads.take(d).expect("the move is a leaf of the tape")
    }

    /// The cluster logits `[N, K]` of images `x` (the style head left out).
    fn cluster_logits(&mut self, g: &mut Graph, x: Var) -> Var {
        let h = self.trunk.forward(g, x);
        self.cluster.forward(g, h)
    }

    /// `KL(p ‖ softmax(cluster logits of x))`, a batch mean; `p [N, K]` a constant.
    fn divergence(&mut self, g: &mut Graph, x: Var, p: &Tensor) -> Var {
        let logits = self.cluster_logits(g, x);
        let log_q = log_softmax(g, logits);
        let pv = g.input(p.clone());
        let weighted = g.mul(pv, log_q);
        let cross = g.sum_all(weighted);
        let n = p.shape()[0] as f32;
        // Σ p ln p, the part of the divergence that does not depend on x.
        let own: f32 = p
            .data()
            .iter()
            .map(|&v| if v > 0.0 { v * v.ln() } else { 0.0 })
            .sum();
        let cross = g.mul_scalar(cross, -1.0 / n);
        g.add_scalar(cross, own / n)
    }

    /// The supervised phase: softmax cross-entropy of the cluster logits against `batch`'s
    /// classes; the trunk and the cluster head step. Returns the cross-entropy.
    pub fn supervised_step(
        &mut self,
        opt: &mut Adam,
        batch: LabelledBatch<'_>,
        rng: &mut Rng,
    ) -> Result<f32, StepError> {
        let mut g = Graph::new();
        let xv = g.input(self.noisy(batch.images, rng));
        let h = self.trunk.forward(&mut g, xv);
        let logits = self.cluster.forward(&mut g, h);
        let loss = g.cross_entropy_loss(logits, batch.labels);
        let value = g.value(loss).item();
        let grads = g.backward(loss);
        opt.step(&mut self.trunk, &grads)?;
        opt.step(&mut self.cluster, &grads)?;
        Ok(value)
    }

    /// The decoder's input for images `x`: `[y, z]` (`y` through [`ClusterAae::gate`], in
    /// training with the recipe's noise from `rng`), or `[one_hot(digit), z]` with `digits`.
    fn code(
        &mut self,
        g: &mut Graph,
        x: Var,
        digits: Option<&[usize]>,
        training: Option<&mut Rng>,
    ) -> Var {
        let (y, z) = match training {
            Some(rng) => self.training_code(g, x, rng),
            None => {
                let (y, z) = self.encode_parts(g, x);
                (self.gate(g, y), z)
            }
        };
        let y = match digits {
            Some(digits) => {
                let k = self.clusters();
                let mut one_hot = Tensor::zeros(&[digits.len(), k]);
                for (row, &d) in one_hot.data_mut().chunks_exact_mut(k).zip(digits) {
                    row[d] = 1.0;
                }
                g.input(one_hot)
            }
            None => y,
        };
        g.concat(&[y, z], 1)
    }

    /// The mean reconstruction BCE per pixel of images `x` in evaluation mode, through the
    /// code as in training (with `digits`, as in [`ClusterAae::train_step_digits_as_code`]).
    pub fn reconstruction_bce(&mut self, x: &Tensor, digits: Option<&[usize]>) -> f64 {
        self.evaluating(|m| m.batched_bce(x, digits))
    }

    /// Runs `f` with the trunk in evaluation mode (batch normalisation's running statistics,
    /// so that an image's code does not depend on the images beside it), then back in
    /// training mode.
    fn evaluating<T>(&mut self, f: impl FnOnce(&mut ClusterAae) -> T) -> T {
        self.trunk.set_training(false);
        let out = f(self);
        self.trunk.set_training(true);
        out
    }

    /// [`ClusterAae::reconstruction_bce`] in whatever mode the trunk is in.
    fn batched_bce(&mut self, x: &Tensor, digits: Option<&[usize]>) -> f64 {
        let n = x.shape()[0];
        let mut sum = 0.0;
        for start in (0..n).step_by(500) {
            let rows: Vec<usize> = (start..(start + 500).min(n)).collect();
            let mut g = Graph::no_grad();
            // The images are both the input and the target.
            let xv = g.input(x.index_select(0, &rows));
            let digits = digits.map(|d| &d[start..start + rows.len()]);
            let code = self.code(&mut g, xv, digits, None);
            let out = self.decoder.forward(&mut g, code);
            let loss = Loss::Bce.apply(&mut g, out, xv, Reduction::Mean);
            sum += f64::from(g.value(loss).item()) * rows.len() as f64;
        }
        sum / n.max(1) as f64
    }

    /// The cluster of each image of `x` (`argmax y`), in evaluation mode.
    pub fn assign(&mut self, x: &Tensor) -> Vec<usize> {
        self.evaluating(|m| m.batched_assign(x))
    }

    /// [`ClusterAae::assign`] in whatever mode the trunk is in.
    fn batched_assign(&mut self, x: &Tensor) -> Vec<usize> {
        let k = self.clusters();
        let mut out = Vec::with_capacity(x.shape()[0]);
        for start in (0..x.shape()[0]).step_by(500) {
            let rows: Vec<usize> = (start..(start + 500).min(x.shape()[0])).collect();
            let mut g = Graph::no_grad();
            let xv = g.input(x.index_select(0, &rows));
            let (logits, _) = self.logits_and_style(&mut g, xv);
            out.extend(g.value(logits).data().chunks_exact(k).map(argmax));
        }
        out
    }
}

/// `ln softmax(logits)` by rows, `logits − ln Σ exp(logits)`, each row shifted by its
/// largest value (a constant, which the result does not depend on) so that no `exp` overflows.
fn log_softmax(g: &mut Tape, logits: Var) -> Var {
    let k = g.shape(logits)[1];
    let n = g.shape(logits)[0];
    let tops: Vec<f32> = g
        .value(logits)
        .data()
        .chunks_exact(k)
        .map(|row| row.iter().copied().fold(f32::NEG_INFINITY, f32::max))
        .collect();
    let tops = g.constant(Tensor::from_vec(&[n, 1], tops));
    let shifted = g.sub(logits, tops);
    let e = g.exp(shifted);
    let total = g.sum(e, &[1], true);
    let log_total = g.log(total);
    g.sub(shifted, log_total)
}

/// IMSAT's entropies of the cluster probabilities `softmax(logits)` of a batch:
/// `H(y|x) − μ·H(y)`, the mean entropy of each image's `y` (low when each is one-hot) less
/// [`MARGINAL_WEIGHT`] times the entropy of the batch's mean `y` (high when the clusters are
/// used evenly).
fn certainty_and_spread(g: &mut Tape, logits: Var) -> Var {
    let n = g.shape(logits)[0] as f32;
    let log_y = log_softmax(g, logits);
    let y = g.exp(log_y);
    let plogp = g.mul(y, log_y);
    let sum = g.sum_all(plogp);
    let conditional = g.mul_scalar(sum, -1.0 / n);
    let mean = g.mean(y, &[0], false);
    // The mean of softmaxes is never 0; the floor keeps ln finite in f32 all the same.
    let floored = g.add_scalar(mean, 1e-8);
    let log_mean = g.log(floored);
    let mlogm = g.mul(mean, log_mean);
    let marginal = g.sum_all(mlogm);
    let marginal = g.mul_scalar(marginal, MARGINAL_WEIGHT);
    // H(y|x) − μ H(y) = conditional + μ Σ m ln m.
    g.add(conditional, marginal)
}

/// Each row of `t` (the first axis; the rest flattened) scaled to length `length` (a zero
/// row stays zero).
fn rows_to_length(t: &Tensor, length: f32) -> Tensor {
    let n = t.shape()[0];
    let width = t.numel() / n.max(1);
    let mut out = t.clone();
    for row in out.data_mut().chunks_exact_mut(width) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        let scale = if norm > 0.0 { length / norm } else { 0.0 };
        row.iter_mut().for_each(|v| *v *= scale);
    }
    out
}

/// Standard Gumbel samples, `−ln(−ln u)` for `u` uniform in (0, 1), one per value of `shape`.
fn gumbel_noise(shape: &[usize], rng: &mut Rng) -> Tensor {
    // `u` kept off 0 and 1, where the logarithms are infinite.
    Tensor::uniform(shape, 0.0, 1.0, rng).map(|u| -(-u.clamp(1e-20, 1.0 - 1e-7).ln()).ln())
}

/// The index of a row's largest value (the first of equals).
fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .rev()
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap_or(0)
}

impl Module for ClusterAae {
    /// Evaluation: the reconstruction from `[y, z]`.
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let code = self.code(g, x, None, None);
        self.decoder.forward(g, code)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![
            ("trunk", &self.trunk),
            ("cluster", &self.cluster),
            ("style", &self.style),
            ("decoder", &self.decoder),
            ("cluster_critic", &self.cluster_critic),
            ("style_critic", &self.style_critic),
        ]
    }

    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        vec![
            ("trunk", &mut self.trunk),
            ("cluster", &mut self.cluster),
            ("style", &mut self.style),
            ("decoder", &mut self.decoder),
            ("cluster_critic", &mut self.cluster_critic),
            ("style_critic", &mut self.style_critic),
        ]
    }

    /// Both heads read the trunk's features; the decoder reads `[y, z]`, the cluster critic
    /// `y` beside its batch mean, the style critic `z`.
    fn child_input_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        let h = self.trunk.output_shape(input);
        let (n, k) = (input[0], self.clusters());
        vec![
            input.to_vec(),
            h.clone(),
            h,
            vec![n, k + STYLE],
            vec![n, 2 * k],
            vec![n, STYLE],
        ]
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        vec![input[0], 1, 28, 28]
    }

    fn type_name(&self) -> String {
        "ClusterAAE".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensor::gradcheck::{check_gradients, random_tensor};
    use tensor::rng;

    #[test]
    fn every_part_steps_and_clusters_are_valid() {
        let mut m = ClusterAae::new(16, Recipe::HARD, &mut rng(0));
        // 784·256 + 256 + 256·256 + 256 (trunk), 256·16 + 16 and 256·STYLE + STYLE (heads),
        // (16 + STYLE)·256 + 256 + 65,792 + 256·784 + 784 (decoder), and the critics: 32 inputs
        // (y and its batch mean) and STYLE, each then 128-128-1.
        let trunk = 784 * 256 + 256 + 256 * 256 + 256;
        let heads = 256 * 16 + 16 + 256 * STYLE + STYLE;
        let decoder = (16 + STYLE) * 256 + 256 + 256 * 256 + 256 + 256 * 784 + 784;
        let critic = |i: usize| i * 128 + 128 + 128 * 128 + 128 + 128 + 1;
        assert_eq!(
            m.num_parameters(),
            trunk + heads + decoder + critic(32) + critic(STYLE)
        );
        let x = Tensor::uniform(&[8, 1, 28, 28], 0.0, 1.0, &mut rng(1));
        let mut opts = ClusterOptimizers::new(1e-3, Recipe::HARD);
        let before = m.state_dict();
        let labels = [0, 1, 2, 3, 4, 5, 6, 7];
        let batch = LabelledBatch {
            images: &x,
            labels: &labels,
        };
        let l = m
            .train_step(&mut opts, &x, Moves::NONE, Some(batch), &mut rng(2))
            .unwrap();
        assert!(l.reconstruction > 0.0 && l.discriminators > 0.0 && l.generator > 0.0);
        assert!(l.supervised > 0.0);
        let after = m.state_dict();
        assert!(
            before.iter().zip(&after).all(|(b, a)| b.1 != a.1),
            "every tensor moves"
        );
        assert!(m.assign(&x).iter().all(|&c| c < 16));
    }

    #[test]
    fn the_digits_as_code_reach_the_decoder_and_its_bce_falls() {
        let mut m = ClusterAae::new(16, Recipe::HARD, &mut rng(0));
        let x =
            Tensor::uniform(&[8, 1, 28, 28], 0.0, 1.0, &mut rng(1)).map(|v| (v > 0.7) as u8 as f32);
        let digits = [0, 1, 2, 3, 4, 5, 6, 9];
        // The code is the one-hot digit beside z.
        let mut g = Graph::no_grad();
        let xv = g.input(x.clone());
        let code = m.code(&mut g, xv, Some(&digits), None);
        for (row, &d) in g.value(code).data().chunks_exact(16 + STYLE).zip(&digits) {
            let want: Vec<f32> = (0..16).map(|c| f32::from(c == d)).collect();
            assert_eq!(&row[..16], &want[..]);
        }
        // Without digits, the evaluation BCE is the module's own reconstruction's.
        let mut g = Graph::no_grad();
        let (xv, target) = (g.input(x.clone()), g.input(x.clone()));
        let out = m.forward(&mut g, xv);
        let loss = Loss::Bce.apply(&mut g, out, target, Reduction::Mean);
        let own = f64::from(g.value(loss).item());
        assert!((m.reconstruction_bce(&x, None) - own).abs() < 1e-6);
        // Trained with the digits as its code, the decoder learns these eight images.
        let before = m.reconstruction_bce(&x, Some(&digits));
        let mut opts = ClusterOptimizers::new(1e-3, Recipe::HARD);
        let mut r = rng(2);
        for _ in 0..80 {
            m.train_step_digits_as_code(&mut opts, &x, &digits, &mut r)
                .unwrap();
        }
        let after = m.reconstruction_bce(&x, Some(&digits));
        assert!(after < 0.5 * before, "BCE {before} -> {after}");
    }

    /// By hand: logits (0, 0) and (ln 3, 0) give y = (1/2, 1/2) and (3/4, 1/4); their mean
    /// (5/8, 3/8).
    #[test]
    fn the_entropies_by_hand_and_their_gradients() {
        let logits = Tensor::from_vec(&[2, 2], vec![0.0, 0.0, 3f32.ln(), 0.0]);
        let h = |p: &[f64]| -p.iter().map(|&v| v * v.ln()).sum::<f64>();
        let conditional = (h(&[0.5, 0.5]) + h(&[0.75, 0.25])) / 2.0;
        let want = conditional - f64::from(MARGINAL_WEIGHT) * h(&[0.625, 0.375]);
        let mut t = Tape::new();
        let l = t.constant(logits.clone());
        let got = certainty_and_spread(&mut t, l);
        assert!((f64::from(t.value(got).item()) - want).abs() < 1e-5);
        // ln softmax, against the softmax's logarithm, with large logits that would overflow
        // exp unshifted.
        let big = Tensor::from_vec(&[1, 3], vec![100.0, 101.0, 90.0]);
        let l = t.constant(big);
        let log_y = log_softmax(&mut t, l);
        let s: f64 = [100.0f64, 101.0, 90.0]
            .iter()
            .map(|v| (v - 101.0).exp())
            .sum();
        for (got, v) in t.value(log_y).data().iter().zip([100.0f64, 101.0, 90.0]) {
            assert!((f64::from(*got) - (v - 101.0 - s.ln())).abs() < 1e-5);
        }
        check_gradients("log_softmax", &[random_tensor(&[3, 4], 1)], |t, v| {
            let l = log_softmax(t, v[0]);
            let w = t.constant(random_tensor(&[3, 4], 2));
            let weighted = t.mul(l, w);
            t.sum_all(weighted)
        });
        check_gradients("entropies", &[random_tensor(&[5, 4], 3)], |t, v| {
            certainty_and_spread(t, v[0])
        });
    }

    /// The divergence is the KL divergence (0 from a prediction to itself, by hand for a
    /// given one), and the power iteration's move raises it far more than a random move of
    /// the same length.
    #[test]
    fn self_augmented_training_finds_the_sensitive_move_and_steps() {
        let mut m = ClusterAae::new(4, Recipe::SELF_AUGMENTED, &mut rng(0));
        let x = Tensor::uniform(&[32, 1, 28, 28], 0.0, 1.0, &mut rng(1));
        let own = {
            let mut g = Graph::no_grad();
            let xv = g.input(x.clone());
            let (y, _) = m.encode_parts(&mut g, xv);
            g.value(y).clone()
        };
        let kl_at = |m: &mut ClusterAae, moved: &Tensor, p: &Tensor| {
            let mut g = Graph::no_grad();
            let xv = g.input(moved.clone());
            let d = m.divergence(&mut g, xv, p);
            f64::from(g.value(d).item())
        };
        assert!(kl_at(&mut m, &x, &own).abs() < 1e-5);
        let uniform = Tensor::full(&[32, 4], 0.25);
        let q = own.data();
        let by_hand: f64 = q
            .chunks_exact(4)
            .map(|row| {
                row.iter()
                    .map(|&v| 0.25 * (0.25f64.ln() - f64::from(v).ln()))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / 32.0;
        assert!((kl_at(&mut m, &x, &uniform) - by_hand).abs() < 1e-5);
        // The move the power iteration finds, against random ones, all of length 2.
        let start = rows_to_length(
            &Tensor::normal(x.shape(), 0.0, 1.0, &mut rng(2)),
            PROBE_STEP,
        );
        let direction = m.sensitive_direction(&x, &start, &own);
        let found = kl_at(&mut m, &x.add(&rows_to_length(&direction, 2.0)), &own);
        let random = kl_at(
            &mut m,
            &x.add(&rows_to_length(
                &Tensor::normal(x.shape(), 0.0, 1.0, &mut rng(3)),
                2.0,
            )),
            &own,
        );
        assert!(found > 10.0 * random, "found {found}, random {random}");
        // A step: the trunk and the cluster head move, nothing else.
        let before = m.state_dict();
        let mut opt = Adam::new(1e-3);
        let shifted = Tensor::uniform(x.shape(), 0.0, 1.0, &mut rng(5));
        let moves = Moves {
            radius: 2.0,
            shifted: Some(&shifted),
        };
        let kl = m.smoothness_step(&mut opt, &x, moves, &mut rng(4)).unwrap();
        assert!(kl.is_finite() && kl >= 0.0);
        for ((name, b), (_, a)) in before.iter().zip(&m.state_dict()) {
            let moves = name.starts_with("trunk") || name.starts_with("cluster.");
            assert_eq!(b != a, moves, "{name}");
        }
    }

    /// Shift consistency alone (no adversarial move, no entropies): the step reports no
    /// smoothness KL, and its steps pull the prediction for the shifted images towards the
    /// prediction for the images themselves.
    #[test]
    fn shift_consistency_pulls_the_shifted_prediction_to_the_image_s() {
        let recipe = Recipe {
            smoothness: 0.0,
            balance: 0.0,
            shift_consistency: 1.0,
            batch_norm: false,
            ..Recipe::SELF_AUGMENTED
        };
        let mut m = ClusterAae::new(4, recipe, &mut rng(0));
        let x = Tensor::uniform(&[32, 1, 28, 28], 0.0, 1.0, &mut rng(1));
        let shifted = Tensor::uniform(x.shape(), 0.0, 1.0, &mut rng(2));
        let divergence = |m: &mut ClusterAae| {
            let mut g = Graph::no_grad();
            let xv = g.input(x.clone());
            let (y, _) = m.encode_parts(&mut g, xv);
            let own = g.value(y).clone();
            let sv = g.input(shifted.clone());
            let d = m.divergence(&mut g, sv, &own);
            f64::from(g.value(d).item())
        };
        let before = divergence(&mut m);
        let mut opt = Adam::new(1e-3);
        let moves = Moves {
            radius: 0.0,
            shifted: Some(&shifted),
        };
        for _ in 0..30 {
            let kl = m.smoothness_step(&mut opt, &x, moves, &mut rng(4)).unwrap();
            assert_eq!(kl, 0.0);
        }
        let after = divergence(&mut m);
        assert!(before > 1e-4 && after < before / 4.0, "{before} → {after}");
    }

    /// Without the cluster discriminator in play, a training step leaves it as it was and
    /// the discriminators' loss is the style critic's alone.
    #[test]
    fn without_the_cluster_critic_only_the_style_game_plays() {
        let recipe = Recipe::SELF_AUGMENTED;
        let mut m = ClusterAae::new(8, recipe, &mut rng(0));
        let x = Tensor::uniform(&[16, 1, 28, 28], 0.0, 1.0, &mut rng(1));
        let before = m.cluster_critic.state_dict();
        let mut opts = ClusterOptimizers::new(1e-3, recipe);
        let shifted = Tensor::uniform(&[16, 1, 28, 28], 0.0, 1.0, &mut rng(3));
        let moves = Moves {
            radius: 1.5,
            shifted: Some(&shifted),
        };
        let l = m
            .train_step(&mut opts, &x, moves, None, &mut rng(2))
            .unwrap();
        assert_eq!(m.cluster_critic.state_dict(), before);
        // One critic near chance (ln 4 ≈ 1.39), not two (2.77).
        assert!(l.discriminators > 0.5 && l.discriminators < 2.0, "{l:?}");
        assert!(l.smoothness > 0.0, "{l:?}");
    }

    #[test]
    fn gumbel_noise_has_the_gumbel_mean_and_variance() {
        let n = 200_000;
        let g = gumbel_noise(&[n], &mut rng(3));
        let mean = g.data().iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let var = g
            .data()
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        // The standard Gumbel: mean γ (Euler–Mascheroni), variance π²/6.
        assert!((mean - 0.577_215_7).abs() < 0.01, "mean {mean}");
        let want = std::f64::consts::PI.powi(2) / 6.0;
        assert!((var - want).abs() < 0.03, "variance {var}");
    }

    #[test]
    fn the_gumbel_code_is_one_hot_and_samples_y() {
        let mut m = ClusterAae::new(4, Recipe::GUMBEL, &mut rng(0));
        let x = Tensor::uniform(&[64, 1, 28, 28], 0.0, 1.0, &mut rng(1));
        let argmax: Vec<usize> = m.assign(&x);
        let mut r = rng(2);
        let mut moved = 0;
        for _ in 0..5 {
            let mut g = Graph::no_grad();
            let xv = g.input(x.clone());
            let (code, _) = m.training_code(&mut g, xv, &mut r);
            for (row, &top) in g.value(code).data().chunks_exact(4).zip(&argmax) {
                let ones: Vec<usize> = (0..4).filter(|&c| (row[c] - 1.0).abs() < 1e-6).collect();
                assert_eq!(ones.len(), 1, "one-hot: {row:?}");
                assert!(
                    row.iter()
                        .all(|&v| v.abs() < 1e-6 || (v - 1.0).abs() < 1e-6)
                );
                moved += usize::from(ones[0] != top);
            }
        }
        // A fresh model's y is near uniform over 4 clusters: the noise picks another cluster
        // than the argmax most of the time; without it, never.
        assert!(moved > 100, "{moved} of 320 codes off the argmax");
        let mut plain = ClusterAae::new(4, Recipe::HARD, &mut rng(0));
        let mut g = Graph::no_grad();
        let xv = g.input(x.clone());
        let (code, _) = plain.training_code(&mut g, xv, &mut r);
        for (row, &top) in g.value(code).data().chunks_exact(4).zip(&argmax) {
            assert!((row[top] - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn the_hard_code_is_one_hot_with_the_softmax_gradient() {
        let logits = Tensor::from_vec(&[2, 3], vec![0.1, 2.0, -1.0, 0.5, 0.2, 0.4]);
        let weights = Tensor::from_vec(&[2, 3], vec![1.0, -2.0, 3.0, 0.5, 1.5, -1.0]);
        let grad_through = |recipe: Recipe| {
            let m = ClusterAae::new(3, recipe, &mut rng(0));
            let mut g = Graph::new();
            let l = g.input_with_grad(logits.clone());
            let y = g.softmax(l);
            let code = m.gate(&mut g, y);
            let value = g.value(code).clone();
            let w = g.input(weights.clone());
            let weighted = g.mul(code, w);
            let loss = g.sum_all(weighted);
            let grads = g.backward(loss);
            (value, grads.get(l).unwrap().clone())
        };
        let (hard, hard_grad) = grad_through(Recipe::HARD);
        let (soft, soft_grad) = grad_through(Recipe::SOFT);
        // The value: one-hot at each row's largest logit (columns 1 and 0).
        let one_hot = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        for (v, e) in hard.data().iter().zip(one_hot) {
            assert!((v - e).abs() < 1e-6, "{:?}", hard.data());
        }
        assert!((soft.data()[1] - 0.8).abs() < 0.1, "the softmax itself");
        // The gradient: the softmax's, unchanged.
        assert_eq!(hard_grad.data(), soft_grad.data());
    }
}
