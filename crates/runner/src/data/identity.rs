//! Which data set a folder of MNIST-format files holds, so the report can name it and its
//! classes: MNIST's digits, Fashion-MNIST's garments, or ten classes of an unknown set.
//!
//! A folder is recognised by its first training image, hashed (FNV-1a, 64 bits): the file
//! names and headers are the same for every MNIST-format set, but the first image of
//! MNIST's training set (a 5) and Fashion-MNIST's (an ankle boot) are the same in a
//! committed sample and in its full set, both of which keep the official order.

use serde::{Deserialize, Serialize};

use crate::data::dataset::Dataset;

/// The data sets the lab knows by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// LeCun, Cortes and Burges's handwritten digits (the lab's own).
    #[default]
    Mnist,
    /// Zalando Research's article images (Xiao, Rasul and Vollgraf 2017).
    FashionMnist,
    /// Any other set in the same format: ten classes named by their label.
    Other,
}

/// FNV-1a hash of MNIST's first training image (the 5 of `datasets/mnist-sample`).
const MNIST_FIRST_IMAGE: u64 = 0x4835_811a_a7e4_9e10;
/// FNV-1a hash of Fashion-MNIST's first training image (an ankle boot).
const FASHION_FIRST_IMAGE: u64 = 0x01fd_f725_9054_1338;

/// Fashion-MNIST's class names, by label (its README's table).
const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// What the report calls a data set and its classes (in every `results.json`, through
/// `LabInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataIdentity {
    /// Which set it is.
    pub family: Family,
    /// Its name in a sentence: "MNIST", "Fashion-MNIST", "an MNIST-format data set".
    pub name: String,
    /// What one of its classes is called: "digit", "garment", "class".
    pub noun: String,
    /// The ten class names, by label: "0".."9" for MNIST, "T-shirt/top"… for Fashion-MNIST.
    pub classes: Vec<String>,
}

impl Default for DataIdentity {
    /// MNIST: what every `results.json` written before data sets were named ran on.
    fn default() -> DataIdentity {
        DataIdentity::of_family(Family::Mnist)
    }
}

impl DataIdentity {
    /// The name, noun and classes of `family`.
    pub fn of_family(family: Family) -> DataIdentity {
        let digits = || (0..10).map(|d| d.to_string()).collect();
        let (name, noun, classes) = match family {
            Family::Mnist => ("MNIST", "digit", digits()),
            Family::FashionMnist => (
                "Fashion-MNIST",
                "garment",
                FASHION_CLASSES.iter().map(|c| c.to_string()).collect(),
            ),
            Family::Other => ("an MNIST-format data set", "class", digits()),
        };
        DataIdentity {
            family,
            name: name.into(),
            noun: noun.into(),
            classes,
        }
    }

    /// The identity of `train`, a training set, from its first image (`Other` when it is
    /// not one the lab knows, or empty).
    pub fn of(train: &Dataset) -> DataIdentity {
        let size = train.image_size();
        let family = match train.pixels.get(..size).filter(|_| !train.is_empty()) {
            Some(first) if fnv1a(first) == MNIST_FIRST_IMAGE => Family::Mnist,
            Some(first) if fnv1a(first) == FASHION_FIRST_IMAGE => Family::FashionMnist,
            _ => Family::Other,
        };
        DataIdentity::of_family(family)
    }

    /// Its name before a noun: "2,000 Fashion-MNIST training images", "MNIST-format" for a
    /// set the lab does not know.
    pub fn short(&self) -> &'static str {
        match self.family {
            Family::Mnist => "MNIST",
            Family::FashionMnist => "Fashion-MNIST",
            Family::Other => "MNIST-format",
        }
    }

    /// The name of class `label` for a legend or a table: "digit 3", "Ankle boot",
    /// "class 3".
    pub fn class_label(&self, label: u8) -> String {
        let name = self
            .classes
            .get(label as usize)
            .cloned()
            .unwrap_or_else(|| label.to_string());
        match self.family {
            Family::FashionMnist => name,
            Family::Mnist | Family::Other => format!("{} {name}", self.noun),
        }
    }

    /// How the rows of sample figures are described: "the first test image of each digit"
    /// (of each garment class, with the classes named, for Fashion-MNIST).
    pub fn each_class(&self) -> String {
        match self.family {
            Family::Mnist => "the first test image of each digit, 0 to 9".into(),
            Family::FashionMnist => format!(
                "the first test image of each garment class, left to right: {}",
                self.classes.join(", ")
            ),
            Family::Other => "the first test image of each class, 0 to 9".into(),
        }
    }

    /// What a figure is coloured by: "digit" for MNIST, "class" otherwise ("coloured by
    /// garment" would not read).
    pub fn colour_key(&self) -> &'static str {
        match self.family {
            Family::Mnist => "digit",
            Family::FashionMnist | Family::Other => "class",
        }
    }

    /// The plural of [`DataIdentity::noun`]: "digits", "garments", "classes".
    pub fn plural(&self) -> String {
        match self.noun.as_str() {
            "class" => "classes".into(),
            noun => format!("{noun}s"),
        }
    }

    /// `text`, written for MNIST, with the words "digit" and "digits" (whole words, not
    /// in a flag such as `--anomaly-digit`) replaced by this set's noun and its plural:
    /// for a section whose many sentences speak of digits in general.
    pub fn reword(&self, text: &str) -> String {
        if self.family == Family::Mnist {
            return text.to_string();
        }
        let (noun, plural) = (self.noun.as_str(), self.plural());
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("digit") {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + "digit".len()..];
            let plural_word = after.starts_with('s');
            let tail = if plural_word { &after[1..] } else { after };
            let word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
            let whole =
                !before.is_some_and(word_char) && !tail.chars().next().is_some_and(word_char);
            out += &rest[..at];
            if whole {
                out += if plural_word { &plural } else { noun };
                rest = tail;
            } else {
                out += "digit";
                rest = after;
            }
        }
        out + rest
    }

    /// How the report says the set was recognised.
    pub fn recognition(&self) -> String {
        match self.family {
            Family::Other => "not a set the lab knows by its first training image; its ten \
                              classes are named by their labels, 0 to 9"
                .into(),
            _ => format!(
                "recognised as {} by its first training image; a class is a {}",
                self.name, self.noun
            ),
        }
    }
}

/// FNV-1a, 64 bits: a fixed, dependency-free fingerprint of a few hundred bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn committed(folder: &str) -> Dataset {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../datasets")
            .join(folder);
        Dataset::load(&dir, "train").unwrap()
    }

    #[test]
    fn the_committed_samples_are_recognised_and_named() {
        let mnist = DataIdentity::of(&committed("mnist-sample"));
        assert_eq!(mnist.family, Family::Mnist);
        assert_eq!(mnist.class_label(3), "digit 3");
        let fashion = DataIdentity::of(&committed("fashion-mnist-sample"));
        assert_eq!(fashion.family, Family::FashionMnist);
        assert_eq!(
            (fashion.name.as_str(), fashion.noun.as_str()),
            ("Fashion-MNIST", "garment")
        );
        assert_eq!(fashion.class_label(9), "Ankle boot");
        assert!(fashion.each_class().contains("T-shirt/top, Trouser"));
    }

    #[test]
    fn an_unknown_or_empty_set_is_ten_numbered_classes() {
        let mut other = committed("mnist-sample").first(3);
        other.pixels[100] ^= 1;
        let id = DataIdentity::of(&other);
        assert_eq!(id.family, Family::Other);
        assert_eq!(id.class_label(0), "class 0");
        assert_eq!(id.classes.len(), 10);
        assert_eq!(DataIdentity::of(&other.first(0)).family, Family::Other);
    }

    #[test]
    fn reword_replaces_whole_words_only() {
        let text = "One digit left out: digits 0-9 (`--anomaly-digit`, digit_means); digit.";
        assert_eq!(DataIdentity::default().reword(text), text);
        assert_eq!(
            DataIdentity::of_family(Family::FashionMnist).reword(text),
            "One garment left out: garments 0-9 (`--anomaly-digit`, digit_means); garment."
        );
        assert_eq!(
            DataIdentity::of_family(Family::Other).reword("per digit, two digits"),
            "per class, two classes"
        );
    }

    #[test]
    fn fnv1a_matches_its_published_test_vector() {
        // The FNV reference test suite: FNV-1a 64 of "a" is af63dc4c8601ec8c.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
