//! The Rust half of the PyTorch round trip in `tests/interop/pytorch_roundtrip.py`.
//!
//! `export DIR`: writes the lab's conv autoencoder (seed 0) to `DIR/ours.safetensors`, and 16
//! images of the committed sample with the model's reconstructions to `DIR/ours_io.safetensors`.
//! `import DIR`: loads `DIR/torch.safetensors` (a PyTorch `state_dict`), runs the images of
//! `DIR/torch_io.safetensors` and prints the largest difference to PyTorch's outputs.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use layers::io::{load, read_tensors, save, write_tensors};
use layers::{Module, infer};
use tp_runner::data::dataset::Dataset;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, dir] = &args[..] else {
        return Err("usage: pytorch_interop export|import DIR".into());
    };
    let dir = PathBuf::from(dir);
    let mut model = models::conv::autoencoder(&mut tensor::rng(0));
    model.eval();
    match mode.as_str() {
        "export" => {
            let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
            let images = Dataset::load(&sample, "train")?.images(&(0..16).collect::<Vec<_>>());
            let output = infer(&mut model, images.clone());
            save(dir.join("ours.safetensors"), &model)?;
            let io = [
                ("input".to_string(), &images, false),
                ("output".to_string(), &output, false),
            ];
            write_tensors(&dir.join("ours_io.safetensors"), &io, HashMap::new())?;
            println!("exported {} parameters", model.num_parameters());
        }
        "import" => {
            load(dir.join("torch.safetensors"), &mut model)?;
            let io = read_tensors(&dir.join("torch_io.safetensors"))?;
            let output = infer(&mut model, io.tensors["input"].tensor.clone());
            let diff = output.max_abs_diff(&io.tensors["output"].tensor);
            println!("PyTorch weights loaded; largest output difference to PyTorch: {diff:.3e}");
            if diff > 1e-5 {
                return Err(format!("outputs differ by {diff}").into());
            }
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    }
    Ok(())
}
