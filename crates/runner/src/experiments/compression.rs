//! Compression: an autoencoder's code as a compressed image. Each code value is quantized to
//! 8 bits (256 levels between the smallest and largest value that dimension takes on the
//! training set); bits per image, ratios against the raw 784 bytes and against the image's
//! own PNG and gzip sizes, and the test MSE after quantization, for the dense and the
//! convolutional model.

use std::io::Write as _;

use layers::summary::thousands;
use models::ModelKind;
use serde::{Deserialize, Serialize};

use super::{Experiment, Lab, LabInfo, ModelCard, Section, tp1, tp2};
use crate::instruments::quality::mse;
use crate::report::markdown::{format_mse, table};
use crate::train::TrainError;

/// Compression.
pub struct Compression;

/// The models compressed: (exercise, model).
const MODELS: [(&str, ModelKind); 2] = [
    (tp1::Exercise1::NAME, ModelKind::Dense2Relu),
    (tp2::Exercise2::NAME, ModelKind::Conv),
];

/// The gain on the figure's difference rows: |8-bit − float reconstruction| times this, so
/// that a difference of one grey level of an 8-bit image (1/255) shows as white.
pub const AMPLIFY: f32 = 255.0;

/// What the compression experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Training images the quantizers were fitted on.
    pub n_train: usize,
    /// The test images' mean PNG size, bytes.
    pub png: f64,
    /// Their mean gzip size, bytes.
    pub gzip: f64,
    /// Each model compressed, in [`MODELS`] order.
    pub models: Vec<Compressed>,
    /// The grid of originals and, for each model, its float and 8-bit reconstructions and
    /// their difference amplified [`AMPLIFY`] times.
    pub quantized: String,
}

/// One model's code as a compressed image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compressed {
    /// The model (its code size is [`ModelCard::code`]).
    pub card: ModelCard,
    /// The gzipped code stream of the whole test set, bits per image.
    pub stream_bits: f64,
    /// The test MSE from the float code.
    pub float_mse: f64,
    /// The test MSE from the 8-bit code.
    pub quantized_mse: f64,
    /// How far rounding the code moves the reconstruction's pixels, over the test set.
    #[serde(default)]
    pub change: Option<Change>,
}

/// How far the 8-bit code's reconstruction lies from the float code's, pixel by pixel, in
/// grey levels of an 8-bit image (1/255).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The mean absolute change of a pixel, in grey levels.
    pub mean: f64,
    /// The share of pixels that move by one grey level or more.
    pub moved: f64,
}

impl Change {
    /// The change from the reconstruction `a` to `b` (values in `[0, 1]`).
    pub fn between(a: &[f32], b: &[f32]) -> Change {
        let levels: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() as f64 * 255.0)
            .collect();
        let n = levels.len().max(1) as f64;
        Change {
            mean: levels.iter().sum::<f64>() / n,
            moved: levels.iter().filter(|&&l| l >= 1.0).count() as f64 / n,
        }
    }
}

/// A per-dimension 8-bit quantizer: `q = round((z − lo)/(hi − lo)·255)`, clamped to 0–255.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantizer {
    /// Smallest value of each dimension on the calibration codes.
    pub lo: Vec<f32>,
    /// Largest value of each dimension.
    pub hi: Vec<f32>,
}

impl Quantizer {
    /// The range of each of the `dim` dimensions of `codes`.
    pub fn fit(codes: &[f32], dim: usize) -> Quantizer {
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        for row in codes.chunks_exact(dim) {
            for (j, &v) in row.iter().enumerate() {
                lo[j] = lo[j].min(v);
                hi[j] = hi[j].max(v);
            }
        }
        Quantizer { lo, hi }
    }

    /// One byte per value.
    pub fn quantize(&self, codes: &[f32]) -> Vec<u8> {
        let dim = self.lo.len();
        codes
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let (lo, hi) = (self.lo[i % dim], self.hi[i % dim]);
                if hi > lo {
                    ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
                } else {
                    0
                }
            })
            .collect()
    }

    /// The values the bytes stand for.
    pub fn dequantize(&self, bytes: &[u8]) -> Vec<f32> {
        let dim = self.lo.len();
        bytes
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                let (lo, hi) = (self.lo[i % dim], self.hi[i % dim]);
                lo + (hi - lo) * q as f32 / 255.0
            })
            .collect()
    }
}

/// The size in bytes of a `28×28` 8-bit grey PNG of `image` (values in `[0, 1]`).
pub fn png_bytes(image: &[f32]) -> usize {
    let pixels: Vec<u8> = image
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 28, 28);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header().expect("a PNG header in memory");
        writer
            .write_image_data(&pixels)
            .expect("PNG data in memory");
    }
    out.len()
}

/// The size in bytes of `bytes` compressed by gzip (best compression).
pub fn gzip_bytes(bytes: &[u8]) -> usize {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).expect("gzip in memory");
    gz.finish().expect("gzip in memory").len()
}

impl Experiment for Compression {
    const NAME: &'static str = "compression";
    const ABOUT: &'static str = "Compression: the code quantized to 8 bits, against PNG and gzip";
    type Results = Results;

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let test = lab.splits.test.all_images().into_data();
        let n_test = test.len() / 784;
        let train = lab.splits.train.all_images().into_data();
        // The images' own sizes, on their 8-bit pixels (what the dataset stores).
        let bytes: Vec<u8> = test
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        let png = test.chunks(784).map(png_bytes).sum::<usize>() as f64 / n_test as f64;
        let gzip = bytes.chunks(784).map(gzip_bytes).sum::<usize>() as f64 / n_test as f64;
        let mut models = Vec::new();
        let mut figure_rows = vec![lab.sample_images()];
        for (exercise, kind) in MODELS {
            let run = lab.ensure(exercise, kind.id(), kind, None)?;
            let dim = run.code_size();
            let quantizer = Quantizer::fit(&run.codes(&train), dim);
            let codes = run.codes(&test);
            let quantized = quantizer.quantize(&codes);
            let float_out = run.decode(&codes, dim);
            let q_out = run.decode(&quantizer.dequantize(&quantized), dim);
            let (float_mse, quantized_mse) = (mse(&float_out, &test), mse(&q_out, &test));
            let change = Change::between(&float_out, &q_out);
            // The code stream of the whole test set, gzipped: what entropy coding would add.
            let stream = gzip_bytes(&quantized) as f64 / n_test as f64;
            models.push(Compressed {
                card: ModelCard::of(run),
                stream_bits: stream * 8.0,
                float_mse,
                quantized_mse,
                change: Some(change),
            });
            let (float_row, q_row) = (lab.pick_samples(&float_out), lab.pick_samples(&q_out));
            // The two reconstructions look the same: their difference, amplified, shows
            // what rounding moved.
            let difference = float_row
                .iter()
                .zip(&q_row)
                .map(|(a, b)| (AMPLIFY * (a - b).abs()).min(1.0))
                .collect();
            figure_rows.extend([float_row, q_row, difference]);
        }
        let quantized = lab.save_grid(Self::NAME, "quantized.png", &figure_rows)?;
        Ok(Results {
            n_train: train.len() / 784,
            png,
            gzip,
            models,
            quantized,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let (png, gzip) = (r.png, r.gzip);
        let mut body = String::from("## Compression\n\n");
        body += &format!(
            "> Quantize the code to 8 bits per value and report bits per image, the compression \
             ratio against the raw 784 bytes and against the image's PNG/gzip size, and the \
             test MSE after quantization, for the dense and convolutional models.\n\n\
             Each code dimension is mapped to 256 levels between its smallest and largest \
             value on the {} training codes (2 floats per dimension, stored once with the \
             decoder); an image is then its code's bytes. The test images' own sizes, from \
             their 8-bit pixels: PNG (grey, best compression) {png:.1} bytes on average, gzip \
             {gzip:.1} bytes, raw 784.\n\n",
            thousands(r.n_train as u64),
        );
        let rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                let bits = m.card.code * 8;
                let bytes = bits as f64 / 8.0;
                vec![
                    m.card.title.clone(),
                    m.card.code.to_string(),
                    bits.to_string(),
                    format!("{:.1}×", 784.0 / bytes),
                    format!("{:.1}×", png / bytes),
                    format!("{:.1}×", gzip / bytes),
                    format!("{:.1}", m.stream_bits),
                    format_mse(m.float_mse),
                    format_mse(m.quantized_mse),
                ]
            })
            .collect();
        body += &table(
            &[
                "model",
                "code values",
                "bits / image",
                "vs raw",
                "vs PNG",
                "vs gzip",
                "gzipped code stream, bits / image",
                "test MSE, float code",
                "test MSE, 8-bit code",
            ],
            &rows,
        );
        let sentences: Vec<String> = r
            .models
            .iter()
            .map(|m| {
                format!(
                    "rounding changes the {}'s test MSE by {:+.2}% ({} → {})",
                    m.card.short,
                    100.0 * (m.quantized_mse / m.float_mse - 1.0),
                    format_mse(m.float_mse),
                    format_mse(m.quantized_mse)
                )
            })
            .collect();
        body += &format!(
            "\nAt 8 bits per value, {}. The ratios count the code alone: a lossy code against \
             lossless PNG and gzip, which keep every pixel; the last column is what gzip makes \
             of the codes of the whole test set laid end to end, a hint of what entropy coding \
             would add.\n\n",
            sentences.join("; ")
        );
        body += &format!(
            "![original, float and 8-bit reconstructions]({})\n\n",
            r.quantized
        );
        body += &format!(
            "*Top: originals. Then three rows for each model (the deep dense, then the \
             strided convolutional): its reconstruction from the float code, from the 8-bit \
             code, and the difference between the two, amplified {AMPLIFY}× (black: none; \
             white: one grey level of an 8-bit image, 1/255, or more).{}*\n\n",
            change_remark(r, lab.n_test)
        );
        Section {
            body,
            timings: r.models.iter().map(|m| m.card.timing.clone()).collect(),
        }
    }
}

/// What the figure's difference rows show, in a sentence: how far rounding moved the
/// pixels of the `n_test` test images, in grey levels, and whether the eye can see it.
fn change_remark(r: &Results, n_test: usize) -> String {
    let Some(changes) = r
        .models
        .iter()
        .map(|m| m.change.map(|c| (c, m.card.short.as_str())))
        .collect::<Option<Vec<(Change, &str)>>>()
    else {
        return String::new();
    };
    let Some(largest) = changes.iter().map(|(c, _)| c.mean).reduce(f64::max) else {
        return String::new();
    };
    let each: Vec<String> = changes
        .iter()
        .map(|(c, model)| {
            format!(
                "{:.2} grey levels on average for the {model} ({:.1}% of its pixels by one \
                 level or more)",
                c.mean,
                100.0 * c.moved
            )
        })
        .collect();
    let verdict = if largest < 1.0 {
        "under a grey level on average, the same picture to the eye; the difference rows show \
         which pixels moved at all"
    } else {
        "a grey level or more on average, enough to see in places; the difference rows show \
         where"
    };
    format!(
        " Over the {} test images, rounding the code moves a pixel by {}: {verdict}.",
        thousands(n_test as u64),
        each.join(" and "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::{card, lab};

    fn compressed(short: &str, float_mse: f64, quantized_mse: f64) -> Compressed {
        Compressed {
            card: card(short, &[0.02, float_mse]),
            stream_bits: 433.7,
            float_mse,
            quantized_mse,
            change: Some(Change {
                mean: 0.14,
                moved: 0.04,
            }),
        }
    }

    #[test]
    fn the_section_quotes_the_ratios_and_the_change_its_sign_included() {
        let r = Results {
            n_train: 10_000,
            png: 320.1,
            gzip: 216.3,
            models: vec![
                compressed("deep model", 0.01, 0.0101),
                compressed("strided model", 0.01, 0.0095),
            ],
            quantized: "compression/quantized.png".into(),
        };
        let section = Compression::render(&r, &lab());
        let body = section.body;
        assert!(
            body.contains(
                "| deep model | 64 | 512 | 12.2× | 5.0× | 3.4× | 433.7 | 0.01000 | 0.01010 |"
            ),
            "{body}"
        );
        assert!(
            body.contains("the deep model's test MSE by +1.00%"),
            "{body}"
        );
        assert!(
            body.contains("the strided model's test MSE by -5.00%"),
            "{body}"
        );
        assert!(body.contains("on the 10,000 training codes"), "{body}");
        assert_eq!(section.timings.len(), 2);
        assert!(
            body.contains(
                "moves a pixel by 0.14 grey levels on average for the deep model (4.0% of its \
                 pixels by one level or more) and 0.14 grey levels on average for the strided \
                 model (4.0% of its pixels by one level or more): under a grey level on average"
            ),
            "{body}"
        );
    }

    #[test]
    fn the_caption_says_whether_rounding_shows() {
        let mut r = Results {
            n_train: 10_000,
            png: 320.1,
            gzip: 216.3,
            models: vec![compressed("deep model", 0.01, 0.0101)],
            quantized: "compression/quantized.png".into(),
        };
        let body = |r: &Results| Compression::render(r, &lab()).body;
        assert!(body(&r).contains("the same picture to the eye"));
        r.models[0].change = Some(Change {
            mean: 3.0,
            moved: 0.5,
        });
        assert!(
            body(&r).contains("50.0% of its pixels by one level or more): a grey level or more"),
            "{}",
            body(&r)
        );
        // Results written before the figure had difference rows: no sentence.
        r.models[0].change = None;
        assert!(!body(&r).contains("grey levels on average"));
    }

    #[test]
    fn the_change_counts_grey_levels() {
        let c = Change::between(&[0.0, 0.5, 1.0, 0.2], &[0.0, 0.5 + 2.0 / 255.0, 1.0, 0.2]);
        assert!((c.mean - 0.5).abs() < 1e-4, "{c:?}");
        assert_eq!(c.moved, 0.25);
    }

    #[test]
    fn the_quantized_code_is_within_half_a_step_of_the_float_one() {
        let codes = [0.0f32, -1.0, 0.3, 2.0, 1.0, 0.5];
        let q = Quantizer::fit(&codes, 2);
        assert_eq!(
            (q.lo.clone(), q.hi.clone()),
            (vec![0.0, -1.0], vec![1.0, 2.0])
        );
        let back = q.dequantize(&q.quantize(&codes));
        for (j, (a, b)) in codes.iter().zip(&back).enumerate() {
            let step = (q.hi[j % 2] - q.lo[j % 2]) / 255.0;
            assert!((a - b).abs() <= step / 2.0 + 1e-6, "{a} vs {b}");
        }
        // The ends are exact; out-of-range values clamp.
        assert_eq!(q.quantize(&[1.0, 2.0, 5.0, -3.0]), [255, 255, 255, 0]);
    }

    #[test]
    fn sizes_of_a_blank_and_a_noisy_image() {
        let blank = vec![0.0f32; 784];
        let noisy: Vec<f32> = (0..784)
            .map(|i| ((i * 7919) % 256) as f32 / 255.0)
            .collect();
        assert!(png_bytes(&blank) < 120, "{}", png_bytes(&blank));
        assert!(png_bytes(&noisy) > png_bytes(&blank));
        assert!(gzip_bytes(&[0u8; 784]) < 60);
    }
}
