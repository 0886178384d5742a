//! The course's claims about autoencoders, each tested by an experiment: what the report's
//! first table lists. An experiment's [`crate::experiments::Experiment::claims`] returns a
//! [`Finding`] for each claim it tests, its verdict chosen by comparing its numbers; a claim
//! no experiment tested yet is listed as such.

use serde::{Deserialize, Serialize};

/// A claim the course makes about autoencoders, in our words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// Convolutions share weights, so a convolutional autoencoder needs fewer parameters.
    ConvolutionsNeedFewerParameters,
    /// Convolutional autoencoders tolerate translations of the input.
    ConvolutionsTolerateTranslations,
    /// Autoencoders beat PCA at reducing dimensions.
    AutoencodersBeatPca,
    /// A denoiser learns because its code cannot hold the noise.
    DenoisingComesFromTheBottleneck,
    /// Autoencoders are data-specific: good only on the kind of images they were trained on.
    AutoencodersAreDataSpecific,
    /// Reconstructions are lossy.
    ReconstructionsAreLossy,
    /// The VAE's latent space is continuous and decodes to a digit everywhere.
    VaeLatentSpaceDecodesEverywhere,
    /// The adversarial autoencoder imposes any prior on its code.
    AaeImposesAnyPrior,
    /// Pre-training an encoder as an autoencoder helps when labels are few.
    PretrainingHelpsWithFewLabels,
    /// Reconstruction error flags anomalies.
    ReconstructionErrorFlagsAnomalies,
    /// The adversarial autoencoder's samples are better than the VAE's.
    AaeSamplesBeatVae,
    /// A plain autoencoder's codes mean little; the VAE's latent space is organised.
    VaeLatentSpaceIsOrganised,
    /// The supervised adversarial autoencoder separates style from content.
    AaeSeparatesStyleFromContent,
    /// The adversarial autoencoder with a categorical code clusters without labels.
    AaeClustersWithoutLabels,
    /// The adversarial autoencoder learns from unlabelled images when labels are few.
    AaeLearnsFromFewLabels,
}

impl Claim {
    /// Every claim, in the table's order.
    pub const ALL: [Claim; 15] = [
        Claim::ConvolutionsNeedFewerParameters,
        Claim::ConvolutionsTolerateTranslations,
        Claim::AutoencodersBeatPca,
        Claim::DenoisingComesFromTheBottleneck,
        Claim::AutoencodersAreDataSpecific,
        Claim::ReconstructionsAreLossy,
        Claim::VaeLatentSpaceDecodesEverywhere,
        Claim::AaeImposesAnyPrior,
        Claim::PretrainingHelpsWithFewLabels,
        Claim::ReconstructionErrorFlagsAnomalies,
        Claim::AaeSamplesBeatVae,
        Claim::VaeLatentSpaceIsOrganised,
        Claim::AaeSeparatesStyleFromContent,
        Claim::AaeClustersWithoutLabels,
        Claim::AaeLearnsFromFewLabels,
    ];

    /// The claim, as the table states it.
    pub fn text(self) -> &'static str {
        match self {
            Claim::ConvolutionsNeedFewerParameters => {
                "Convolutions share weights, so a convolutional autoencoder needs fewer parameters"
            }
            Claim::ConvolutionsTolerateTranslations => {
                "Convolutional autoencoders tolerate translations of the input"
            }
            Claim::AutoencodersBeatPca => "Autoencoders reduce dimensions better than PCA",
            Claim::DenoisingComesFromTheBottleneck => {
                "A denoiser learns because its code cannot hold the noise"
            }
            Claim::AutoencodersAreDataSpecific => {
                "Autoencoders are data-specific: good only on images like their training set"
            }
            Claim::ReconstructionsAreLossy => "Reconstructions are lossy",
            Claim::VaeLatentSpaceDecodesEverywhere => {
                "The VAE's latent space is continuous and decodes to a digit everywhere"
            }
            Claim::AaeImposesAnyPrior => {
                "The adversarial autoencoder imposes any prior on its code"
            }
            Claim::PretrainingHelpsWithFewLabels => {
                "Pre-training the encoder as an autoencoder helps when labels are few"
            }
            Claim::ReconstructionErrorFlagsAnomalies => "Reconstruction error flags anomalies",
            Claim::AaeSamplesBeatVae => {
                "The adversarial autoencoder gives better samples than the VAE"
            }
            Claim::VaeLatentSpaceIsOrganised => {
                "A plain autoencoder's codes mean little; the VAE's latent space is organised"
            }
            Claim::AaeSeparatesStyleFromContent => {
                "The supervised adversarial autoencoder separates style from content"
            }
            Claim::AaeClustersWithoutLabels => {
                "The adversarial autoencoder clusters images without labels"
            }
            Claim::AaeLearnsFromFewLabels => {
                "The adversarial autoencoder learns from unlabelled images when labels are few"
            }
        }
    }
}

/// How a claim fared on the measured numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The numbers support it.
    Holds,
    /// They support it in part, or under conditions the evidence names.
    Partly,
    /// They contradict it.
    Fails,
}

impl Verdict {
    /// The verdict's word in the table.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Partly => "in part",
            Verdict::Fails => "does not hold",
        }
    }
}

/// What an experiment found about one claim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The claim.
    pub claim: Claim,
    /// Its verdict.
    pub verdict: Verdict,
    /// The numbers behind it, in a sentence.
    pub evidence: String,
}

impl Finding {
    /// A finding on `claim`: `verdict`, from `evidence`.
    pub fn new(claim: Claim, verdict: Verdict, evidence: String) -> Finding {
        Finding {
            claim,
            verdict,
            evidence,
        }
    }
}

/// The GitHub anchor of a Markdown heading (`## Exercise 1: dense (K = 64)` →
/// `exercise-1-dense-k--64`): lower case, letters, digits, `-` and `_` kept, spaces to `-`.
pub fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The claims table: every claim of [`Claim::ALL`], with the finding of the experiment that
/// tested it (`findings`: the finding and the heading of its section) or "not tested yet".
pub fn table(findings: &[(Finding, String)]) -> String {
    let mut rows = Vec::new();
    for claim in Claim::ALL {
        let tested: Vec<&(Finding, String)> =
            findings.iter().filter(|(f, _)| f.claim == claim).collect();
        if tested.is_empty() {
            rows.push(vec![
                claim.text().to_string(),
                "not tested yet".into(),
                "--".into(),
                "--".into(),
            ]);
        }
        for (finding, heading) in tested {
            rows.push(vec![
                claim.text().to_string(),
                format!("**{}**", finding.verdict.word()),
                finding.evidence.clone(),
                format!(
                    "[{}](#{})",
                    heading.trim_start_matches('#').trim(),
                    anchor(heading)
                ),
            ]);
        }
    }
    super::markdown::table(&["claim", "verdict", "measured", "section"], &rows)
}

/// One sentence counting the verdicts.
pub fn summary(findings: &[(Finding, String)]) -> String {
    let count = |v: Verdict| findings.iter().filter(|(f, _)| f.verdict == v).count();
    let untested = Claim::ALL
        .iter()
        .filter(|c| findings.iter().all(|(f, _)| f.claim != **c))
        .count();
    format!(
        "Of the course's {} claims below, {} hold on these data, {} hold in part, {} do not, \
         and {} are not tested yet.",
        Claim::ALL.len(),
        count(Verdict::Holds),
        count(Verdict::Partly),
        count(Verdict::Fails),
        untested
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github() {
        assert_eq!(
            anchor("## Exercise 1: dense autoencoders (K = 64)"),
            "exercise-1-dense-autoencoders-k--64"
        );
        assert_eq!(
            anchor("## PCA, the linear baseline"),
            "pca-the-linear-baseline"
        );
    }

    #[test]
    fn every_claim_has_a_row_tested_or_not() {
        let found = vec![(
            Finding::new(
                Claim::ReconstructionsAreLossy,
                Verdict::Holds,
                "PSNR 20 dB".into(),
            ),
            "## Exercise 1: dense".to_string(),
        )];
        let t = table(&found);
        assert_eq!(t.lines().count(), 2 + Claim::ALL.len());
        assert!(t.contains("| Reconstructions are lossy | **holds** | PSNR 20 dB | [Exercise 1: dense](#exercise-1-dense) |"), "{t}");
        assert_eq!(t.matches("not tested yet").count(), Claim::ALL.len() - 1);
        // Counted from the list, so that a new claim does not change this test.
        let n = Claim::ALL.len();
        assert_eq!(
            summary(&found),
            format!(
                "Of the course's {n} claims below, 1 hold on these data, 0 hold in part, 0 do \
                 not, and {} are not tested yet.",
                n - 1
            )
        );
    }
}
