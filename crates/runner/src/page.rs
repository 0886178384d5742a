//! `tp page`: the latent space in the browser. Writes a static folder that any file server
//! can serve: `index.html` and `page.js` (from `crates/web/page/`), the engine compiled to
//! WebAssembly (`tp_web.wasm`, from `crates/web`), the weights of the dense 2-D VAE and
//! of the plain 2-D autoencoder (`vae.safetensors`, `ae.safetensors`: the files `tp`
//! saved), a few thousand test and training images (`test-digits.bin`,
//! `train-digits.bin`, [`tp_web::digits`]) and `page.json`, which says where the weights
//! came from.
//!
//! The two models are the runs `tp vae` and `tp pca` train (`vae/vae` and
//! `pca/dense2_relu_k2` of a runs folder). A run already in the runs folder (`--out`) is
//! reused as it is, file for file; a missing one is trained there first, through the lab's
//! trainer.

use std::path::{Path, PathBuf};

use models::ModelKind;
use serde::Serialize;
use tp_web::digits::Digits;

use crate::cli::PageArgs;
use crate::data::dataset::{Dataset, Splits};
use crate::experiments::Lab;
use crate::fsutil::{create_dir, write_atomic};

/// The page's HTML, written as `index.html`.
pub const INDEX_HTML: &str = include_str!("../../web/page/index.html");
/// The page's script, written as `page.js`.
pub const PAGE_JS: &str = include_str!("../../web/page/page.js");
/// The engine's file name, in the target folder and in the page.
pub const WASM_FILE: &str = "tp_web.wasm";
/// The command that builds it.
pub const WASM_BUILD: &str = "cargo build --release --target wasm32-unknown-unknown -p tp-web \
     (after `rustup target add wasm32-unknown-unknown`)";

/// One model of the page: where `tp` keeps its run, and the file the page reads.
struct PageModel {
    kind: ModelKind,
    experiment: &'static str,
    run: &'static str,
    file: &'static str,
}

/// The VAE of `tp vae` (latent 2 by default) and the 2-D plain autoencoder of `tp pca`.
const MODELS: [PageModel; 2] = [
    PageModel {
        kind: ModelKind::Vae,
        experiment: "vae",
        run: "vae",
        file: "vae.safetensors",
    },
    PageModel {
        kind: ModelKind::Dense2Relu,
        experiment: "pca",
        run: "dense2_relu_k2",
        file: "ae.safetensors",
    },
];

/// `page.json`: what the page says about its weights.
#[derive(Serialize)]
struct Manifest {
    /// One sentence on where the weights came from.
    source: String,
    /// Each model's run folder and configuration.
    runs: Vec<RunOrigin>,
    /// Images in `test-digits.bin` and `train-digits.bin`.
    test_images: usize,
    train_images: usize,
}

#[derive(Serialize)]
struct RunOrigin {
    file: &'static str,
    run: String,
    reused: bool,
    config: serde_json::Value,
}

/// Writes the page folder of `args`, training a missing run in the lab its flags describe
/// (its runs folder, `--out`); returns what it wrote, for the command's last line.
pub fn write(args: &PageArgs, splits: Splits) -> Result<String, String> {
    let wasm = find_wasm(args.wasm.as_deref())?;
    let wasm_bytes = std::fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    if !wasm_bytes.starts_with(b"\0asm") {
        return Err(format!(
            "{}: not a WebAssembly module; build it with {WASM_BUILD}",
            wasm.display()
        ));
    }
    create_dir(&args.page)?;
    let mut lab = Lab::new(crate::app::lab_settings(&args.lab), splits);
    let mut runs = Vec::new();
    for model in &MODELS {
        runs.push(weights(&mut lab, model, &args.page)?);
    }
    let test = subset(&lab.splits.test, args.images);
    let train = subset(&lab.splits.train, args.images);
    let files: [(&str, &[u8]); 5] = [
        ("index.html", INDEX_HTML.as_bytes()),
        ("page.js", PAGE_JS.as_bytes()),
        (WASM_FILE, &wasm_bytes),
        ("test-digits.bin", &test),
        ("train-digits.bin", &train),
    ];
    for (name, bytes) in files {
        write_atomic(&args.page.join(name), bytes)?;
    }
    let source = runs
        .iter()
        .map(|r| {
            let c = &r.config;
            format!(
                "{} from {} ({} epochs on {} images of {})",
                r.file, r.run, c["epochs"], c["n_train"], c["data"]
            )
            .replace('"', "")
        })
        .collect::<Vec<_>>()
        .join("; ");
    let manifest = Manifest {
        source,
        runs,
        test_images: test_count(&lab.splits.test, args.images),
        train_images: test_count(&lab.splits.train, args.images),
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    write_atomic(&args.page.join("page.json"), json.as_bytes())?;
    Ok(format!(
        "page: {} ({} bytes; serve it with any static server, e.g. `python3 -m http.server -d {}`)",
        args.page.display(),
        folder_bytes(&args.page)?,
        args.page.display()
    ))
}

/// Copies `model`'s weights into the page: from its run in the runs folder when that run is
/// finished (it has `model.safetensors`) and of this model with a 2-D code, else from a run
/// trained there now.
fn weights(lab: &mut Lab, model: &PageModel, out: &Path) -> Result<RunOrigin, String> {
    let dir = lab.exercise_dir(model.experiment).join(model.run);
    let reused = match run_config(&dir)? {
        Some(config) => {
            let (kind, latent) = (config["model"].as_str(), config["latent"].as_u64());
            if kind != Some(model.kind.id()) || latent != Some(2) {
                return Err(format!(
                    "{}: this run is not the page's {} with a 2-D code (config.json says \
                     model {kind:?}, latent {latent:?}); pass another runs folder (--out)",
                    dir.display(),
                    model.kind.title(2)
                ));
            }
            true
        }
        None => {
            println!(
                "{}: no finished run, training it ({} epochs)",
                dir.display(),
                lab.settings.epochs
            );
            let config = match model.kind {
                ModelKind::Vae => lab.vae_config(model.kind, 2),
                kind => lab.config(kind, 2),
            };
            lab.ensure_config(model.experiment, model.run, config)
                .map_err(|e| e.to_string())?;
            false
        }
    };
    let config = run_config(&dir)?.ok_or_else(|| format!("{}: no config.json", dir.display()))?;
    let weights = dir.join("model.safetensors");
    std::fs::copy(&weights, out.join(model.file))
        .map_err(|e| format!("{}: {e}", weights.display()))?;
    Ok(RunOrigin {
        file: model.file,
        run: dir.display().to_string(),
        reused,
        config,
    })
}

/// The `config.json` of a finished run in `dir` (one with `model.safetensors`), if any.
fn run_config(dir: &Path) -> Result<Option<serde_json::Value>, String> {
    let path = dir.join("config.json");
    if !dir.join("model.safetensors").is_file() || !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{}: not JSON ({e})", path.display()))
}

fn test_count(set: &Dataset, images: usize) -> usize {
    set.len().min(images)
}

/// The first `images` images of `set` as a digits file.
fn subset(set: &Dataset, images: usize) -> Vec<u8> {
    let n = test_count(set, images);
    let size = set.image_size();
    Digits::to_bytes(&set.pixels[..n * size], &set.labels[..n])
}

/// The engine's `.wasm`: `--wasm`, else where cargo puts it: under `$CARGO_TARGET_DIR`, beside
/// this executable's target folder, or under `target/`.
fn find_wasm(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("{}: no such file (--wasm)", path.display()))
        };
    }
    let tail = Path::new("wasm32-unknown-unknown/release").join(WASM_FILE);
    let mut places = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        places.push(PathBuf::from(dir).join(&tail));
    }
    // `<target>/release/tp` (or `<target>/release/deps/...` under tests).
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(2).take(2) {
            places.push(up.join(&tail));
        }
    }
    places.push(Path::new("target").join(&tail));
    places.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let looked: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
        format!(
            "the engine's WebAssembly is not built (looked for {}); build it with {WASM_BUILD}, \
             or pass --wasm FILE",
            looked.join(", ")
        )
    })
}

/// Bytes of the files directly in `dir`.
fn folder_bytes(dir: &Path) -> Result<u64, String> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let meta = entry.map_err(|e| e.to_string())?.metadata();
        total += meta.map_err(|e| e.to_string())?.len();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four images and a page folder's arguments in a fresh temporary folder.
    fn tiny(name: &str, wasm: &[u8]) -> (PathBuf, PageArgs, impl Fn() -> Splits) {
        let dir = std::env::temp_dir().join(format!("tp-page-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(WASM_FILE), wasm).unwrap();
        let (page, runs, wasm) = (dir.join("page"), dir.join("runs"), dir.join(WASM_FILE));
        let line = ["tp", "page", "--epochs", "1", "--images", "3", "--page"];
        let paths = [
            page.as_os_str(),
            "--out".as_ref(),
            runs.as_os_str(),
            "--wasm".as_ref(),
            wasm.as_os_str(),
        ];
        let command = line.iter().map(|s| s.as_ref()).chain(paths);
        let Ok(crate::cli::Action::Page(args)) = crate::cli::parse_from(command) else {
            panic!("tp page's flags do not parse");
        };
        let set = || Dataset {
            pixels: (0..4 * 784).map(|i| (i % 251) as u8).collect(),
            labels: vec![0, 1, 2, 3],
            height: 28,
            width: 28,
        };
        let root = dir.clone();
        let splits = move || Splits {
            dir: root.clone(),
            description: "four images".into(),
            train: set(),
            test: set(),
        };
        (dir, args, splits)
    }

    #[test]
    fn a_missing_wasm_names_the_build_command() {
        let err = find_wasm(Some(Path::new("/nonexistent/tp_web.wasm"))).unwrap_err();
        assert!(err.contains("--wasm"), "{err}");
        let (dir, args, splits) = tiny("not-wasm", b"not wasm");
        let err = write(&args, splits()).unwrap_err();
        assert!(
            err.contains("not a WebAssembly module") && err.contains("cargo build"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_page_trains_missing_runs_then_reuses_them_file_for_file() {
        let (dir, args, splits) = tiny("write", b"\0asm\x01\0\0\0");
        write(&args, splits()).unwrap();
        for file in [
            "index.html",
            "page.js",
            WASM_FILE,
            "vae.safetensors",
            "ae.safetensors",
            "page.json",
        ] {
            assert!(args.page.join(file).is_file(), "{file} missing");
        }
        let test = std::fs::read(args.page.join("test-digits.bin")).unwrap();
        let digits = Digits::parse(&test).unwrap();
        assert_eq!(digits.labels, vec![0, 1, 2], "the first --images 3");
        // The weights load into the page's models.
        let vae = std::fs::read(args.page.join("vae.safetensors")).unwrap();
        tp_web::Net::new(tp_web::Kind::Vae, 1).load(&vae).unwrap();
        let ae = std::fs::read(args.page.join("ae.safetensors")).unwrap();
        tp_web::Net::new(tp_web::Kind::Autoencoder, 1)
            .load(&ae)
            .unwrap();

        // Again: both runs are found and copied, nothing trained.
        write(&args, splits()).unwrap();
        let manifest = std::fs::read_to_string(args.page.join("page.json")).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        assert_eq!(manifest["runs"][0]["reused"], true);
        assert_eq!(manifest["runs"][1]["reused"], true);
        assert_eq!(
            std::fs::read(args.page.join("vae.safetensors")).unwrap(),
            vae
        );

        // A run of another model under the page's name is refused, naming it.
        let config = args.lab.common.out.join("pca/dense2_relu_k2/config.json");
        std::fs::write(&config, r#"{"model": "dense1_none", "latent": 2}"#).unwrap();
        let err = write(&args, splits()).unwrap_err();
        assert!(
            err.contains("dense2_relu_k2") && err.contains("dense1_none"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_page_ships_its_script_and_calls_only_exported_functions() {
        assert!(INDEX_HTML.contains("<script src=\"page.js\">"));
        let exports = include_str!("../../web/src/ffi.rs");
        let mut called = 0;
        for call in PAGE_JS.split("E.tp_").skip(1) {
            let name: String = call
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(
                exports.contains(&format!("fn tp_{name}(")),
                "page.js calls tp_{name}, which crates/web/src/ffi.rs does not export"
            );
            called += 1;
        }
        assert!(called > 10);
    }
}
