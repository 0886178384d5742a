//! Do convolutional autoencoders tolerate translations? The course says they do: a
//! convolution shares its weights across positions, so what it learned of a stroke in one
//! place serves everywhere. Protocol: the first test images, moved 0 to 4 pixels right,
//! left, up and down inside their 28×28 frame (zero fill, nothing cropped or rescaled), go
//! through exercise 1's dense models and exercise 2's two convolutional ones, all trained on
//! the unmoved images (nothing is trained here); the figure of merit is the MSE between a
//! model's output and the moved image, the mean over the four directions, and how much it
//! grows from 0 to 4 pixels. Anchor: LeCun et al. (1998, "Gradient-based learning applied to
//! document recognition", §II) on weight sharing and the approximate shift invariance it
//! buys, which comes from subsampling, not from the convolutions alone.

use serde::{Deserialize, Serialize};

use super::{Experiment, Lab, LabInfo, Section, Timing, tp1, tp2};
use crate::data::corrupt::translate;
use crate::figures::chart::{LineChart, Series};
use crate::instruments::quality::mse;
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{format_mse, table, times};
use crate::train::TrainError;

/// Translations of the test images.
pub struct Translation;

/// The shifts measured, in pixels.
pub const SHIFTS: [usize; 5] = [0, 1, 2, 3, 4];

/// The directions each shift is taken in, `(dx, dy, name)` with x to the right and y down.
pub const DIRECTIONS: [(isize, isize, &str); 4] = [
    (1, 0, "right"),
    (-1, 0, "left"),
    (0, -1, "up"),
    (0, 1, "down"),
];

/// Test images moved (the first of the test set): 17 passes of each model over them, so a
/// thousand keeps the experiment to seconds while the mean MSE over 1,000 images varies by
/// a few percent at most between samples.
pub const IMAGES: usize = 1_000;

/// The digit whose first test image the figure moves (a 2: strokes in every direction).
const PICTURED_DIGIT: usize = 2;

/// What the translation experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Test images moved.
    pub images: usize,
    /// The shifts, in pixels ([`SHIFTS`]).
    pub shifts: Vec<usize>,
    /// The directions averaged over ([`DIRECTIONS`]).
    pub directions: Vec<String>,
    /// Exercise 1's dense models, then exercise 2's convolutional ones.
    pub models: Vec<ModelShift>,
    /// The chart of MSE against the shift.
    pub chart: String,
    /// The grid of one image moved right and each model's reconstructions.
    pub grid: String,
    /// The digit of the image the grid moves (none when the test set lacks it and the first
    /// test image is used).
    pub pictured_digit: Option<usize>,
    /// The models' training runs, for the timings table.
    pub timings: Vec<Timing>,
}

/// One model's error against the shift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelShift {
    /// Its id ([`models::ModelKind::id`]).
    pub id: String,
    /// Its title for tables and the chart.
    pub title: String,
    /// Its name in sentences.
    pub short: String,
    /// Whether it is convolutional (exercise 2).
    pub conv: bool,
    /// MSE per pixel at each shift of [`Results::shifts`], the mean over the directions.
    pub mse: Vec<f64>,
}

impl ModelShift {
    /// The MSE at the largest shift over the MSE unmoved: how many times worse it gets.
    pub fn growth(&self) -> f64 {
        self.last() / self.first()
    }

    /// The MSE at the largest shift minus the MSE unmoved.
    pub fn added(&self) -> f64 {
        self.last() - self.first()
    }

    fn first(&self) -> f64 {
        self.mse.first().copied().unwrap_or(f64::NAN)
    }

    fn last(&self) -> f64 {
        self.mse.last().copied().unwrap_or(f64::NAN)
    }
}

impl Results {
    fn dense(&self) -> impl Iterator<Item = &ModelShift> {
        self.models.iter().filter(|m| !m.conv)
    }

    fn conv(&self) -> impl Iterator<Item = &ModelShift> {
        self.models.iter().filter(|m| m.conv)
    }

    /// The dense model whose `figure` grows least.
    fn least_dense(&self, figure: fn(&ModelShift) -> f64) -> &ModelShift {
        self.dense()
            .min_by(|a, b| figure(a).total_cmp(&figure(b)))
            .expect("dense models")
    }

    /// The convolutional models whose `figure` is below every dense model's.
    fn conv_below(&self, figure: fn(&ModelShift) -> f64) -> Vec<&ModelShift> {
        let bound = figure(self.least_dense(figure));
        self.conv().filter(|m| figure(m) < bound).collect()
    }

    fn largest_shift(&self) -> usize {
        self.shifts.last().copied().unwrap_or(0)
    }
}

impl Experiment for Translation {
    const NAME: &'static str = "translation";
    const ABOUT: &'static str =
        "Do convolutional autoencoders tolerate translations? Test MSE against a shift of 0-4 px";
    type Results = Results;

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let below = r.conv_below(ModelShift::growth);
        let conv = r.conv().count();
        let verdict = match below.len() {
            0 => Verdict::Fails,
            n if n == conv => Verdict::Holds,
            _ => Verdict::Partly,
        };
        let each = |models: Vec<&ModelShift>| -> String {
            models
                .iter()
                .map(|m| {
                    format!(
                        "{} {} ({} to {})",
                        m.short,
                        times(m.growth()),
                        format_mse(m.first()),
                        format_mse(m.last())
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        vec![Finding::new(
            Claim::ConvolutionsTolerateTranslations,
            verdict,
            format!(
                "moved {} px, {} of {} convolutional models grow their test MSE less than every \
                 dense model: {}; against {}",
                r.largest_shift(),
                below.len(),
                conv,
                each(r.conv().collect()),
                each(r.dense().collect())
            ),
        )]
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let n = IMAGES.min(lab.splits.test.len());
        let images = lab.splits.test.all_images().into_data()[..n * 784].to_vec();
        // The pictured image moved right by each shift: the figure's first row.
        let (pictured, pictured_digit) = if lab.has_every_digit() {
            (lab.samples[PICTURED_DIGIT], Some(PICTURED_DIGIT))
        } else {
            (0, None)
        };
        let one = lab.splits.test.images(&[pictured]).into_data();
        let moved_right: Vec<f32> = SHIFTS
            .iter()
            .flat_map(|&s| translate(&one, s as isize, 0))
            .collect();
        // Every moved copy of the test images, made once for all models: (shift, inputs).
        let mut inputs: Vec<(usize, Vec<f32>)> = Vec::new();
        for &s in &SHIFTS {
            for &(dx, dy, _) in &DIRECTIONS {
                let s = s as isize;
                inputs.push((s as usize, translate(&images, dx * s, dy * s)));
                if s == 0 {
                    break; // unmoved: one direction is enough
                }
            }
        }
        let latent = lab.settings.latent;
        let every = tp1::MODELS
            .iter()
            .map(|k| (tp1::Exercise1::NAME, *k))
            .chain(tp2::MODELS.iter().map(|k| (tp2::Exercise2::NAME, *k)));
        let (mut models, mut rows, mut timings) =
            (Vec::new(), vec![moved_right.clone()], Vec::new());
        for (exercise, kind) in every {
            let run = lab.ensure(exercise, kind.id(), kind, None)?;
            let mse_at: Vec<f64> = SHIFTS
                .iter()
                .map(|&s| {
                    let at: Vec<f64> = inputs
                        .iter()
                        .filter(|(shift, _)| *shift == s)
                        .map(|(_, x)| mse(&run.reconstruct(x), x))
                        .collect();
                    at.iter().sum::<f64>() / at.len() as f64
                })
                .collect();
            rows.push(run.reconstruct(&moved_right));
            timings.push(Timing::of(run));
            models.push(ModelShift {
                id: kind.id().into(),
                title: kind.title(latent),
                short: kind.short(latent),
                conv: tp2::MODELS.contains(&kind),
                mse: mse_at,
            });
        }
        let grid = lab.save_grid(Self::NAME, "moved.png", &rows)?;
        let chart = LineChart {
            title: format!(
                "Test MSE of {} moved test images, mean over 4 directions",
                layers::summary::thousands(n as u64)
            ),
            x_label: "shift (pixels)".into(),
            y_label: "test MSE per pixel".into(),
            log_y: true,
            log_x: false,
            x_whole: true,
            series: models
                .iter()
                .enumerate()
                .map(|(colour, m)| Series {
                    label: m.title.clone(),
                    points: SHIFTS
                        .iter()
                        .map(|&s| s as f64)
                        .zip(m.mse.clone())
                        .collect(),
                    colour,
                    // Dense dashed, convolutional solid: the two families at a glance.
                    dashed: !m.conv,
                    markers: true,
                })
                .collect(),
            references: Vec::new(),
        };
        chart.save(&lab.exercise_dir(Self::NAME).join("mse_vs_shift.svg"))?;
        Ok(Results {
            images: n,
            shifts: SHIFTS.to_vec(),
            directions: DIRECTIONS.iter().map(|d| d.2.to_string()).collect(),
            models,
            chart: format!("{}/mse_vs_shift.svg", Self::NAME),
            grid,
            pictured_digit,
            timings,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let largest = r.largest_shift();
        let mut body =
            String::from("## Translations: do convolutional autoencoders tolerate them?\n\n");
        body += &format!(
            "> Convolutional autoencoders tolerate translations of the input: a convolution \
             applies the same weights at every position.\n\n\
             The first {} test images, moved by {} pixels {} inside their 28×28 frame (the \
             pixels uncovered are black, the background; those pushed past the border are \
             lost, nothing is cropped or rescaled), go through exercise 1's dense models and \
             exercise 2's convolutional ones, all trained on the unmoved images: nothing is \
             trained for this section. The error is the MSE per pixel between a model's output \
             and the moved image it was given, the mean over the {} directions. The models \
             start from different errors, so they are compared by how much theirs grows: the \
             MSE at {largest} px over the MSE unmoved, and the MSE it adds.\n\n",
            layers::summary::thousands(r.images as u64),
            r.shifts
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            join_words(&r.directions),
            r.directions.len(),
        );
        let mut headers: Vec<String> = r.shifts.iter().map(|s| format!("{s} px")).collect();
        headers.insert(0, "model".into());
        headers.push(format!("MSE {largest} px / 0 px"));
        headers.push(format!("added at {largest} px"));
        let rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                let mut row = vec![format!("{} (`{}`)", m.title, m.id)];
                row.extend(m.mse.iter().map(|&x| format_mse(x)));
                row.push(times(m.growth()));
                row.push(format_mse(m.added()));
                row
            })
            .collect();
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        body += &table(&headers, &rows);
        body += &format!("\n{}\n\n", growth_sentence(r));
        body += &format!("![MSE against the shift]({})\n\n", r.chart);
        body += &format!(
            "*Test MSE per pixel against the shift, the mean over the {} directions, on a log \
             scale (equal growth factors make parallel curves): dense models dashed, \
             convolutional ones solid.*\n\n",
            r.directions.len()
        );
        let what = match r.pictured_digit {
            Some(d) => format!("the first test image of a {d}"),
            None => "the first test image".into(),
        };
        body += &format!("![one image moved and its reconstructions]({})\n\n", r.grid);
        let names: Vec<&str> = r.models.iter().map(|m| m.short.as_str()).collect();
        body += &format!(
            "*Columns, left to right: {what} moved right by {} pixels. Rows, top to bottom: \
             the moved image; the reconstructions by the {}.*\n\n",
            r.shifts
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            join_words(&names),
        );
        body += &format!(
            "What the numbers can and cannot say. A convolution is *equivariant*: moving \
                 its input moves its feature map. Neither model here is convolutional to the \
                 end. The strided model's last encoder layer is a 7×7 convolution over a 7×7 \
                 map, one output pixel: a dense layer in all but name, which must learn each \
                 position of a stroke on its own, as the dense models do. The pooling model's \
                 8×4×4 code keeps a coarse position, and its 2×2 poolings absorb only shifts \
                 smaller than their stride. Every model trained on {}'s images as they come \
                 (MNIST's digits are centred by their centre of mass), so none saw a moved {noun}; \
                 a model trained on moved images (data augmentation) is the other way to \
                 tolerance, and is not measured here.\n\n",
            lab.dataset.name,
            noun = lab.dataset.noun
        );
        Section {
            body,
            timings: r.timings.clone(),
        }
    }
}

/// `a, b and c`.
fn join_words<S: AsRef<str>>(words: &[S]) -> String {
    let words: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The comparison of growths, in sentences chosen from the numbers.
fn growth_sentence(r: &Results) -> String {
    let largest = r.largest_shift();
    let by_growth = r.conv_below(ModelShift::growth);
    let by_added = r.conv_below(ModelShift::added);
    let least = r.least_dense(ModelShift::growth);
    let conv: Vec<&ModelShift> = r.conv().collect();
    // `the strided model and the pooling model`
    let names = |ms: &[&ModelShift]| {
        join_words(
            &ms.iter()
                .map(|m| format!("the {}", m.short))
                .collect::<Vec<_>>(),
        )
    };
    let mut s = format!(
        "Moved {largest} px, the dense model whose error grows least is the {} ({}, from {} to \
         {}). ",
        least.short,
        times(least.growth()),
        format_mse(least.first()),
        format_mse(least.last())
    );
    s += &match by_growth.len() {
        0 => format!(
            "Neither convolutional model grows less: the {}, so by this measure they tolerate \
             the shift no better than the dense ones.",
            conv.iter()
                .map(|m| format!("{} {}", m.short, times(m.growth())))
                .collect::<Vec<_>>()
                .join(", the ")
        ),
        n if n == conv.len() => format!(
            "Both convolutional models grow less: the {}.",
            conv.iter()
                .map(|m| format!("{} {}", m.short, times(m.growth())))
                .collect::<Vec<_>>()
                .join(", the ")
        ),
        _ => {
            let other: Vec<&ModelShift> = conv
                .iter()
                .copied()
                .filter(|m| !by_growth.contains(m))
                .collect();
            format!(
                "Only {} grows less ({}); {} grows as much or more ({}).",
                names(&by_growth),
                times(by_growth[0].growth()),
                names(&other),
                times(other[0].growth())
            )
        }
    };
    // The added MSE may rank them otherwise: a model that starts low can add less while
    // growing by a larger factor.
    if by_added.len() != by_growth.len() || by_added.iter().zip(&by_growth).any(|(a, b)| a != b) {
        s += &format!(
            " Counted as MSE added rather than as a factor, {}: the models start from \
             different errors, and the two measures rank them differently.",
            if by_added.is_empty() {
                "no convolutional model adds less than every dense one".to_string()
            } else {
                format!(
                    "{} add{} less than every dense model",
                    names(&by_added),
                    if by_added.len() == 1 { "s" } else { "" }
                )
            }
        );
    } else {
        s += " The MSE added ranks them the same way.";
    }
    let best = r
        .models
        .iter()
        .min_by(|a, b| a.last().total_cmp(&b.last()))
        .expect("models");
    s += &format!(
        " At {largest} px the lowest error is the {}'s ({}).",
        best.short,
        format_mse(best.last())
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::lab;

    fn model(short: &str, conv: bool, first: f64, last: f64) -> ModelShift {
        ModelShift {
            id: short.replace(' ', "_"),
            title: short.into(),
            short: short.into(),
            conv,
            mse: vec![first, (first + last) / 2.0, last],
        }
    }

    /// Two dense models growing ×4 and ×5, and the two conv models with `strided` and
    /// `pooling` as `(first, last)`.
    fn results(strided: (f64, f64), pooling: (f64, f64)) -> Results {
        Results {
            images: 1_000,
            shifts: vec![0, 2, 4],
            directions: vec!["right".into(), "left".into()],
            models: vec![
                model("deep model", false, 0.01, 0.04),
                model("linear model", false, 0.005, 0.025),
                model("strided model", true, strided.0, strided.1),
                model("pooling model", true, pooling.0, pooling.1),
            ],
            chart: "translation/mse_vs_shift.svg".into(),
            grid: "translation/moved.png".into(),
            pictured_digit: Some(2),
            timings: Vec::new(),
        }
    }

    #[test]
    fn translate_moves_and_fills_with_zero() {
        let image: Vec<f32> = (0..784).map(|i| i as f32).collect();
        let right = translate(&image, 3, 0);
        assert_eq!(right[0..3], [0.0; 3]);
        assert_eq!(right[3], 0.0); // what was at column 0 of row 0
        assert_eq!(right[28 + 3], 28.0);
        let up = translate(&image, 0, -2);
        assert_eq!(up[0], 56.0);
        assert!(up[26 * 28..].iter().all(|&v| v == 0.0));
        assert_eq!(translate(&image, 0, 0), image);
        assert!(translate(&image, 28, 0).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn the_claim_follows_the_growths() {
        let verdict =
            |strided, pooling| Translation::claims(&results(strided, pooling), &lab())[0].clone();
        // Both grow ×2 against ×4 and ×5.
        let f = verdict((0.01, 0.02), (0.02, 0.04));
        assert_eq!(f.verdict, Verdict::Holds);
        assert!(
            f.evidence.contains("2 of 2 convolutional models"),
            "{}",
            f.evidence
        );
        assert!(
            f.evidence
                .contains("strided model 2.00× (0.01000 to 0.02000)"),
            "{}",
            f.evidence
        );
        // One grows ×6.
        assert_eq!(verdict((0.01, 0.02), (0.01, 0.06)).verdict, Verdict::Partly);
        // Lower absolute errors are not enough: both grow ×4.5 and ×10.
        assert_eq!(
            verdict((0.002, 0.009), (0.001, 0.01)).verdict,
            Verdict::Fails
        );
    }

    #[test]
    fn the_sentence_follows_the_numbers() {
        let body = Translation::render(&results((0.01, 0.02), (0.02, 0.035)), &lab()).body;
        assert!(body.contains("by 0, 2, 4 pixels right and left"), "{body}");
        assert!(
            body.contains("grows least is the deep model (4.00×, from 0.01000 to 0.04000)"),
            "{body}"
        );
        assert!(
            body.contains("Both convolutional models grow less: the strided model 2.00×, the pooling model 1.75×."),
            "{body}"
        );
        assert!(
            body.contains("The MSE added ranks them the same way."),
            "{body}"
        );
        assert!(
            body.contains("the lowest error is the strided model's"),
            "{body}"
        );
        assert!(
            body.contains(
                "| deep model (`deep_model`) | 0.01000 | 0.02500 | 0.04000 | 4.00× | 0.03000 |"
            ),
            "{body}"
        );
        // The pooling model grows ×6; the strided one ×4.5 but adds less than any dense one.
        let body = Translation::render(&results((0.002, 0.009), (0.01, 0.06)), &lab()).body;
        assert!(
            body.contains("Neither convolutional model grows less"),
            "{body}"
        );
        assert!(
            body.contains("the strided model adds less than every dense model"),
            "{body}"
        );
        let body = Translation::render(&results((0.01, 0.02), (0.01, 0.06)), &lab()).body;
        assert!(
            body.contains("Only the strided model grows less (2.00×); the pooling model grows"),
            "{body}"
        );
    }
}
