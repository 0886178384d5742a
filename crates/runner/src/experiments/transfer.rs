//! Are autoencoders data-specific? The lab's strided conv autoencoder (exercise 2's model,
//! with the lab's epochs, batch, learning rate and seed) trained twice, once on the lab's
//! data and once on the other committed data set (the Fashion-MNIST sample when the lab runs
//! on MNIST, the MNIST sample when it runs on Fashion-MNIST), each on the first 2,000
//! training images so neither has more data; then each model reconstructs the first 2,000
//! test images of both sets. The course's claim ("autoencoders are data-specific: a model
//! trained on one kind of image does poorly on another", as in Chollet's "Building
//! Autoencoders in Keras", 2016) predicts that each model's error on the other set is well
//! above the native model's there: here, at least [`SPECIFIC`] times.

use layers::summary::thousands;
use models::ModelKind;
use serde::{Deserialize, Serialize};

use super::{Experiment, Lab, LabInfo, ModelCard, Section};
use crate::data::dataset::{self, Dataset, Splits};
use crate::data::identity::{DataIdentity, Family};
use crate::instruments::quality::{mse, psnr};
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{format_mse, table, times};
use crate::train::{self, AeConfig, AeRun, RunConfig, Schedule, TrainError, Trained};

/// Data-specific autoencoders.
pub struct Transfer;

/// Training images of each model, and test images of each set (the first of each split).
pub const IMAGES: usize = 2_000;

/// How many times the native model's error a foreign model must reach on a test set for
/// that direction to count as data-specific.
pub const SPECIFIC: f64 = 2.0;

/// The most the models' passes over their 2,000 images may exceed the lab's epochs.
pub const MAX_PASS_FACTOR: usize = 5;

/// One of the two models: what it trained on and its test error on both sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The data set it trained on ("MNIST").
    pub trained_on: String,
    /// Its card (parameters, per-epoch errors on its own test set, timing).
    pub card: ModelCard,
    /// Its MSE per pixel on the lab's test images.
    pub on_home: f64,
    /// Its MSE per pixel on the other set's test images.
    pub on_away: f64,
}

/// What the experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The lab's data set ("MNIST").
    pub home: String,
    /// The other data set ("Fashion-MNIST").
    pub away: String,
    /// Which family the lab's data is (the reading of the numbers depends on it).
    pub home_family: Family,
    /// The other set's folder.
    pub away_dir: String,
    /// Training images of each model.
    pub n_train: usize,
    /// Passes each model made over them (0 in results written before it was recorded: the
    /// lab's epochs).
    #[serde(default)]
    pub epochs: usize,
    /// Test images of each set.
    pub n_test: usize,
    /// The model trained on the lab's data.
    pub home_model: Model,
    /// The model trained on the other set.
    pub away_model: Model,
    /// The MSE of an all-black output on the lab's test images (the mean squared pixel):
    /// what a model that draws nothing scores.
    pub blank_home: f64,
    /// The same on the other set's test images.
    pub blank_away: f64,
    /// The grid: for each set, originals and both models' reconstructions.
    pub grid: String,
}

/// The card of a run that trained beside another, its timings row saying so (its seconds
/// per epoch are one core's).
fn side_by_side_card(run: &Trained<AeRun>) -> ModelCard {
    let mut card = ModelCard::of(run);
    card.timing.run += " (side by side, one core)";
    card
}

impl Results {
    /// The passes each model made over its images (the lab's epochs in older results).
    pub fn passes(&self, lab: &LabInfo) -> usize {
        if self.epochs == 0 {
            lab.epochs
        } else {
            self.epochs
        }
    }

    /// On the lab's test set: the foreign model's error over the native one's.
    pub fn home_ratio(&self) -> f64 {
        self.away_model.on_home / self.home_model.on_home
    }

    /// On the other test set: the lab-trained model's error over the native one's.
    pub fn away_ratio(&self) -> f64 {
        self.home_model.on_away / self.away_model.on_away
    }
}

/// The indices of the first image of each class 0 to 9 in `set` (the first ten images when
/// a class is missing), for the grid.
fn first_of_each_class(set: &Dataset) -> Vec<usize> {
    let firsts: Vec<usize> = (0..10u8)
        .filter_map(|c| set.labels.iter().position(|&l| l == c))
        .collect();
    if firsts.len() == 10 {
        firsts
    } else {
        (0..set.len().min(10)).collect()
    }
}

/// The run folder's name for a model trained on `family`.
fn run_name(family: Family) -> &'static str {
    match family {
        Family::Mnist => "conv_mnist",
        Family::FashionMnist => "conv_fashion",
        Family::Other => "conv_lab_data",
    }
}

/// The name of `identity` as a subject ("MNIST", "the lab's data" for an unknown set).
fn called(identity: &DataIdentity) -> String {
    match identity.family {
        Family::Other => "the lab's data".into(),
        _ => identity.name.clone(),
    }
}

impl Experiment for Transfer {
    const NAME: &'static str = "transfer";
    const ABOUT: &'static str = "Data-specific: the conv autoencoder trained on one data set \
                                 (2,000 images), tested on another (MNIST and Fashion-MNIST)";
    type Results = Results;

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let home_id = lab.identity.clone();
        let away_folder = match home_id.family {
            Family::FashionMnist => "mnist-sample",
            Family::Mnist | Family::Other => "fashion-mnist-sample",
        };
        let away_dir = dataset::committed_dir(away_folder)
            .map_err(|e| format!("the transfer experiment's other data set: {e}"))?;
        let away = Splits::load(
            &away_dir,
            format!("the committed sample datasets/{away_folder}"),
            Some(IMAGES),
            Some(IMAGES),
        )?;
        let away_id = DataIdentity::of(&away.train);
        if away_id.family == home_id.family {
            return Err(format!(
                "{}: the transfer experiment's other data set is {} again, like the lab's data \
                 (the committed sample was replaced?)",
                away_dir.display(),
                away_id.name
            )
            .into());
        }
        // The same number of images on both sides: the lab's may be fewer (--limit).
        let n_train = IMAGES.min(lab.splits.train.len()).min(away.train.len());
        let n_test = IMAGES.min(lab.splits.test.len()).min(away.test.len());
        let cut = |s: &Splits| Splits {
            dir: s.dir.clone(),
            description: s.description.clone(),
            train: s.train.first(n_train),
            test: s.test.first(n_test),
        };
        let (home, away) = (cut(&lab.splits), cut(&away));

        let s = &lab.settings;
        // As many steps as the lab's own models take over its whole training set (at most
        // MAX_PASS_FACTOR times its epochs): with the lab's epochs alone on 2,000 images a
        // model takes a fifth of their steps and is compared half-trained.
        let epochs = s.epochs * (lab.splits.train.len() / n_train.max(1)).clamp(1, MAX_PASS_FACTOR);
        let jobs: Vec<(&Splits, Family, RunConfig<AeConfig>, std::path::PathBuf)> =
            [(&home, home_id.family), (&away, away_id.family)]
                .into_iter()
                .map(|(splits, family)| {
                    let mut config = lab.config(ModelKind::Conv, s.latent);
                    config.schedule = Schedule::new(epochs, s.batch_size, s.lr, s.seed, splits);
                    let dir = lab.exercise_dir(Self::NAME).join(run_name(family));
                    (splits, family, config, dir)
                })
                .collect();
        let options = lab.options();
        // Two runs of one small model: side by side, one per core.
        let mut runs = train::lanes::side_by_side(&jobs, |(splits, _, config, dir)| {
            train::train::<AeRun>(config, splits, dir, options).map_err(|e| e.to_string())
        })?
        .into_iter();
        let (mut home_run, mut away_run) = match (runs.next(), runs.next()) {
            (Some(h), Some(a)) => (h, a),
            _ => return Err(TrainError::Setup("transfer: a run is missing".into())),
        };

        let home_images = home.test.all_images().into_data();
        let away_images = away.test.all_images().into_data();
        let errors = |run: &mut Trained<AeRun>| {
            (
                mse(&run.reconstruct(&home_images), &home_images),
                mse(&run.reconstruct(&away_images), &away_images),
            )
        };
        let (home_on_home, home_on_away) = errors(&mut home_run);
        let (away_on_home, away_on_away) = errors(&mut away_run);
        let blank = |images: &[f32]| mse(&vec![0.0; images.len()], images);

        // The grid: for each test set, its first image of each class, then the native
        // model's reconstructions, then the foreign model's.
        let home_firsts = home
            .test
            .images(&first_of_each_class(&home.test))
            .into_data();
        let away_firsts = away
            .test
            .images(&first_of_each_class(&away.test))
            .into_data();
        let rows = [
            home_firsts.clone(),
            home_run.reconstruct(&home_firsts),
            away_run.reconstruct(&home_firsts),
            away_firsts.clone(),
            away_run.reconstruct(&away_firsts),
            home_run.reconstruct(&away_firsts),
        ];
        let grid = lab.save_grid(Self::NAME, "reconstructions.png", &rows)?;

        Ok(Results {
            home: called(&home_id),
            away: called(&away_id),
            home_family: home_id.family,
            epochs,
            away_dir: away_dir.display().to_string(),
            n_train,
            n_test,
            home_model: Model {
                trained_on: called(&home_id),
                card: side_by_side_card(&home_run),
                on_home: home_on_home,
                on_away: home_on_away,
            },
            away_model: Model {
                trained_on: called(&away_id),
                card: side_by_side_card(&away_run),
                on_home: away_on_home,
                on_away: away_on_away,
            },
            blank_home: blank(&home_images),
            blank_away: blank(&away_images),
            grid,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let (home, away) = (&r.home, &r.away);
        let mut body =
            String::from("## Data-specific: trained on one data set, tested on another\n\n");
        body += "> Autoencoders are data-specific: a model trained on one kind of image does \
                 poorly on another.\n\n";
        body += &format!(
            "The lab's strided conv autoencoder (exercise 2's model, {} parameters) is trained \
             twice with the same schedule ({} epochs, batch {}, learning rate {}, seed {}; {} \
             steps each{}): \
             once on the first {} training images of {home}, once on the first {} of {away} \
             (`{}`). Each then reconstructs the first {} test images of both sets. Both models \
             see the same number of images, so neither has more data{}.\n\n",
            thousands(r.home_model.card.table.total_params as u64),
            r.passes(lab),
            lab.batch_size,
            lab.lr,
            lab.seed,
            thousands((r.passes(lab) * r.n_train.div_ceil(lab.batch_size.max(1))) as u64),
            if r.passes(lab) > lab.epochs && r.passes(lab) * r.n_train >= lab.epochs * lab.n_train {
                format!(
                    ", about as many as the lab's models take in {} epochs over {} images",
                    lab.epochs,
                    thousands(lab.n_train as u64)
                )
            } else {
                String::new()
            },
            thousands(r.n_train as u64),
            thousands(r.n_train as u64),
            r.away_dir,
            thousands(r.n_test as u64),
            if lab.n_train > r.n_train {
                format!(
                    "; exercise 2's model, trained on {} images, is not used here",
                    thousands(lab.n_train as u64)
                )
            } else {
                String::new()
            },
        );
        let cell = |m: f64| format!("{} ({:.2} dB)", format_mse(m), psnr(m));
        let rows: Vec<Vec<String>> = [&r.home_model, &r.away_model]
            .iter()
            .map(|m| {
                vec![
                    format!("trained on {}", m.trained_on),
                    cell(m.on_home),
                    cell(m.on_away),
                ]
            })
            .collect();
        body += &table(
            &[
                "model",
                &format!("{home} test MSE (PSNR)"),
                &format!("{away} test MSE (PSNR)"),
            ],
            &rows,
        );
        body += &format!(
            "\nFor scale: an all-black output, which draws nothing, scores {} on {home} and {} on \
             {away}.\n\n{}\n\n",
            format_mse(r.blank_home),
            format_mse(r.blank_away),
            reading(r)
        );
        body += &format!(
            "![originals and reconstructions, both sets]({})\n\n",
            r.grid
        );
        body += &format!(
            "*Rows, top to bottom: the first {home} test image of each class; its \
             reconstruction by the model trained on {home}; by the model trained on {away}. \
             Then the first {away} test image of each class; by the model trained on {away}; \
             by the model trained on {home}.*\n\n"
        );
        Section {
            body,
            timings: vec![
                r.home_model.card.timing.clone(),
                r.away_model.card.timing.clone(),
            ],
        }
    }

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let (h, a) = (r.home_ratio(), r.away_ratio());
        let verdict = match (h >= SPECIFIC, a >= SPECIFIC) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Fails,
            _ => Verdict::Partly,
        };
        vec![Finding::new(
            Claim::AutoencodersAreDataSpecific,
            verdict,
            format!(
                "on {} test images the model trained on {} has {} the error of the one trained \
                 on them; on {} test images the model trained on {} has {} (a direction counts \
                 from {})",
                r.away,
                r.home,
                times(a),
                r.home,
                r.away,
                times(h),
                times(SPECIFIC)
            ),
        )]
    }
}

/// The share of the all-black output's error a model removes: 1 for a perfect model, 0
/// for one no better than drawing nothing.
fn removed(model: f64, blank: f64) -> f64 {
    1.0 - model / blank
}

/// The interpretation: which direction loses more, and by how much.
fn reading(r: &Results) -> String {
    let (h, a) = (r.home_ratio(), r.away_ratio());
    let (home, away) = (&r.home, &r.away);
    let mut text = format!(
        "On the {away} test set the model trained on {home} reaches {} the error of the one \
         trained on {away}; on the {home} test set the model trained on {away} reaches {} the \
         error of the one trained on {home}. Of the all-black output's error, the native models \
         remove {:.0}% ({home}) and {:.0}% ({away}), the foreign ones {:.0}% and {:.0}%.",
        times(a),
        times(h),
        100.0 * removed(r.home_model.on_home, r.blank_home),
        100.0 * removed(r.away_model.on_away, r.blank_away),
        100.0 * removed(r.away_model.on_home, r.blank_home),
        100.0 * removed(r.home_model.on_away, r.blank_away),
    );
    text += &match (h >= SPECIFIC, a >= SPECIFIC) {
        (true, true) => format!(
            " Both directions lose at least {}: each model is specific to its training set, as \
             the claim says.",
            times(SPECIFIC)
        ),
        (false, false) => format!(
            " Neither direction loses {}: on these sets, at this size, a model reconstructs \
             the other set nearly as well as its native model, and the claim does not hold.",
            times(SPECIFIC)
        ),
        _ => {
            // The direction that transfers: trained on `good`, tested on `bad`.
            let (good, bad, ratio, foreign, native, blank) = if h < a {
                let m = (r.away_model.on_home, r.home_model.on_home, r.blank_home);
                (away, home, h, m.0, m.1, m.2)
            } else {
                let m = (r.home_model.on_away, r.away_model.on_away, r.blank_away);
                (home, away, a, m.0, m.1, m.2)
            };
            let flattered = removed(foreign, blank) < 0.8 * removed(native, blank);
            format!(
                " The claim holds one way only: the model trained on {good} comes within {} of \
                 the native model on {bad}{}{}",
                times(ratio),
                if flattered {
                    format!(
                        ", yet it removes {:.0}% of the all-black output's error where the \
                         native model removes {:.0}%: much of an MSE on {bad} is background \
                         that any model draws dark, so the ratio understates how much worse it \
                         draws the shapes",
                        100.0 * removed(foreign, blank),
                        100.0 * removed(native, blank)
                    )
                } else {
                    String::new()
                },
                why_one_way(r, good)
            )
        }
    };
    text
}

/// Why one direction transfers better, where the two sets are known (a reading, hedged).
fn why_one_way(r: &Results, good: &str) -> &'static str {
    let fashion_transfers = match r.home_family {
        Family::Mnist => good == r.away.as_str(),
        Family::FashionMnist => good == r.home.as_str(),
        Family::Other => return ".",
    };
    if fashion_transfers {
        ". A likely reason for the asymmetry: garments fill much of the frame, so a model of \
         them has learnt to draw broad grey shapes, which cover a digit's strokes roughly \
         (blurred, in the grid), while a model of digits has only learnt thin white strokes on \
         black and draws a garment as a digit-like outline."
    } else {
        ". A likely reason: a digit's strokes suffice to draw the garments' outlines, but not \
         the reverse."
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::{card, lab};

    /// Made-up results: MNIST at home; `on` is `[[home model on home, on away], [away model
    /// on home, on away]]`.
    fn results(on: [[f64; 2]; 2]) -> Results {
        let model = |trained_on: &str, [on_home, on_away]: [f64; 2]| Model {
            trained_on: trained_on.into(),
            card: card("strided model", &[0.02, on_home]),
            on_home,
            on_away,
        };
        Results {
            home: "MNIST".into(),
            away: "Fashion-MNIST".into(),
            home_family: Family::Mnist,
            away_dir: "datasets/fashion-mnist-sample".into(),
            n_train: 2_000,
            epochs: 50,
            n_test: 2_000,
            home_model: model("MNIST", on[0]),
            away_model: model("Fashion-MNIST", on[1]),
            blank_home: 0.1,
            blank_away: 0.2,
            grid: "transfer/reconstructions.png".into(),
        }
    }

    fn verdict(r: &Results) -> (Verdict, String) {
        let f = &Transfer::claims(r, &lab())[0];
        (f.verdict, f.evidence.clone())
    }

    #[test]
    fn both_directions_specific_holds() {
        let r = results([[0.01, 0.08], [0.03, 0.02]]);
        let (v, evidence) = verdict(&r);
        assert_eq!(v, Verdict::Holds);
        assert!(
            evidence.contains("on Fashion-MNIST test images the model trained on MNIST has 4.00×"),
            "{evidence}"
        );
        assert!(
            evidence.contains("trained on Fashion-MNIST has 3.00×"),
            "{evidence}"
        );
        let body = Transfer::render(&r, &lab()).body;
        assert!(
            body.contains("| trained on MNIST | 0.01000 (20.00 dB) | 0.08000"),
            "{body}"
        );
        assert!(
            body.contains("each model is specific to its training set"),
            "{body}"
        );
        assert!(
            body.contains("first 2,000 training images of MNIST"),
            "{body}"
        );
        assert!(
            body.contains(
                "(50 epochs, batch 64, learning rate 0.001, seed 0; 1,600 steps each, about as \
                 many as the lab's models take in 10 epochs over 10,000 images)"
            ),
            "{body}"
        );
        // Results written before the passes were recorded: the lab's epochs.
        let mut old = results([[0.01, 0.08], [0.04, 0.02]]);
        old.epochs = 0;
        let body = Transfer::render(&old, &lab()).body;
        assert!(body.contains("seed 0; 320 steps each)"), "{body}");
    }

    #[test]
    fn one_direction_is_in_part_and_names_it() {
        // The Fashion-trained model reconstructs MNIST within 1.5×; not the reverse.
        let r = results([[0.01, 0.08], [0.015, 0.02]]);
        assert_eq!(verdict(&r).0, Verdict::Partly);
        let body = Transfer::render(&r, &lab()).body;
        assert!(
            body.contains(
                "the model trained on Fashion-MNIST comes within 1.50× of the native model on \
                 MNIST. A likely reason for the asymmetry: garments fill"
            ),
            "{body}"
        );
        assert!(
            body.contains(
                "native models remove 90% (MNIST) and 90% (Fashion-MNIST), the \
                               foreign ones 85% and 60%"
            ),
            "{body}"
        );
        // Closer to drawing nothing than the native model: the ratio flatters it.
        let mut r = results([[0.01, 0.08], [0.018, 0.02]]);
        let body = Transfer::render(&r, &lab()).body;
        assert!(!body.contains("yet it removes"), "{body}");
        r.blank_home = 0.03;
        let body = Transfer::render(&r, &lab()).body;
        assert!(
            body.contains(
                "yet it removes 40% of the all-black output's error where the native \
                           model removes 67%"
            ),
            "{body}"
        );
        // The other way round.
        let r = results([[0.01, 0.03], [0.05, 0.02]]);
        assert_eq!(verdict(&r).0, Verdict::Partly);
        let body = Transfer::render(&r, &lab()).body;
        assert!(
            body.contains(
                "the model trained on MNIST comes within 1.50× of the native model on \
                           Fashion-MNIST"
            ),
            "{body}"
        );
        assert!(body.contains("a digit's strokes suffice"), "{body}");
    }

    #[test]
    fn neither_direction_specific_fails() {
        let r = results([[0.01, 0.025], [0.012, 0.02]]);
        assert_eq!(verdict(&r).0, Verdict::Fails);
        let body = Transfer::render(&r, &lab()).body;
        assert!(body.contains("the claim does not hold"), "{body}");
        assert_eq!(Transfer::render(&r, &lab()).timings.len(), 2);
    }

    #[test]
    fn the_grid_takes_the_first_of_each_class() {
        let set = Dataset {
            pixels: vec![0; 12 * 4],
            labels: vec![3, 0, 1, 2, 0, 4, 5, 6, 7, 8, 9, 9],
            height: 2,
            width: 2,
        };
        assert_eq!(
            first_of_each_class(&set),
            vec![1, 2, 3, 0, 5, 6, 7, 8, 9, 10]
        );
        assert_eq!(first_of_each_class(&set.first(3)), vec![0, 1, 2]);
    }
}
