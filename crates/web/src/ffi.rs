//! What the page's script calls: plain `extern "C"` functions over the WebAssembly
//! module's linear memory, no bindings generator. The script allocates a buffer with
//! [`tp_alloc`], writes bytes or `f32`s into it through a typed-array view of
//! `memory.buffer`, passes its address, and reads results the same way. Numbers cross as
//! `u32`, `f32` and addresses only; text (an error, a tape) is left in one buffer read with
//! [`tp_text_ptr`] and [`tp_text_len`].
//!
//! The page's state lives here, in one thread-local (the page has one thread): the two
//! models it explores (slots 0 and 1), the model it trains (slot 2), and its two sets of
//! digits (0: test images for the scatter, 1: training images for "Train here").
//!
//! Every function that takes an address trusts the script for one thing: that the buffer
//! it passes was allocated by [`tp_alloc`] with at least the bytes the function reads or
//! writes, which each function's doc states.

use std::alloc::Layout;
use std::cell::RefCell;

use crate::digits::{Digits, IMAGE};
use crate::{Codes, Kind, LATENT, Losses, Net, Trainer, from_canvas, to_rgba};

/// The page's state.
#[derive(Default)]
struct Page {
    /// Slots 0 and 1: the trained VAE and autoencoder, once loaded.
    explore: [Option<Net>; 2],
    /// Slot 2: the model trained in the page.
    trainer: Option<Trainer>,
    /// Test digits (0) and training digits (1).
    digits: [Option<Digits>; 2],
    /// The last text: an error message or the tape of the last step.
    text: String,
}

thread_local! {
    static PAGE: RefCell<Page> = RefCell::new(Page::default());
}

/// Images the evaluation loss ([`tp_evaluate`]) is measured on: the first of the training
/// digits, a fixed batch so that two evaluations compare.
const EVAL_IMAGES: usize = 256;

impl Page {
    fn net(&mut self, slot: u32) -> Result<&mut Net, String> {
        match slot {
            0 | 1 => self.explore[slot as usize]
                .as_mut()
                .ok_or_else(|| format!("slot {slot}: no weights loaded")),
            2 => self
                .trainer
                .as_mut()
                .map(|t| &mut t.net)
                .ok_or_else(|| "slot 2: no model in training".to_string()),
            _ => Err(format!("no slot {slot}")),
        }
    }

    fn digits(&self, which: usize) -> Result<&Digits, String> {
        self.digits
            .get(which)
            .and_then(|d| d.as_ref())
            .ok_or_else(|| format!("digits {which}: not loaded"))
    }
}

/// Runs `f` on the page's state; an error becomes the text and `-1`.
fn with_page(f: impl FnOnce(&mut Page) -> Result<i32, String>) -> i32 {
    PAGE.with_borrow_mut(|page| match f(page) {
        Ok(n) => n,
        Err(message) => {
            page.text = message;
            -1
        }
    })
}

/// Copies `values` to the script's buffer at `out`.
///
/// # Safety
/// `out` points to at least `values.len()` writable `T`s.
unsafe fn write<T: Copy>(out: *mut T, values: &[T]) {
    // SAFETY: the caller guarantees the room; a Vec never overlaps the script's buffer.
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, values.len()) }
}

/// Writes codes to two buffers of `2·len` `f32`s each.
///
/// # Safety
/// `mean` and `std` point to at least `codes.mean.len()` writable `f32`s each.
unsafe fn write_codes(codes: &Codes, mean: *mut f32, std: *mut f32) {
    // SAFETY: forwarded from the caller.
    unsafe {
        write(mean, &codes.mean);
        write(std, &codes.std);
    }
}

/// Sets a panic hook that keeps the panic's message as the text, so that the page can show
/// why the module trapped (WebAssembly has no stderr). Call once, first.
#[unsafe(no_mangle)]
pub extern "C" fn tp_init() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("the engine panicked: {info}");
        // A panic inside `with_page` holds the borrow: leave the text then.
        let _ = PAGE.try_with(|page| {
            if let Ok(mut page) = page.try_borrow_mut() {
                page.text = message;
            }
        });
    }));
}

/// Allocates `len` bytes (8-byte aligned) for the script; null if `len` is 0 or too large.
#[unsafe(no_mangle)]
pub extern "C" fn tp_alloc(len: usize) -> *mut u8 {
    match Layout::from_size_align(len, 8) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) if len > 0 => unsafe { std::alloc::alloc(layout) },
        _ => std::ptr::null_mut(),
    }
}

/// Frees a buffer of [`tp_alloc`].
///
/// # Safety
/// `ptr` came from `tp_alloc(len)` with this `len` and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_free(ptr: *mut u8, len: usize) {
    if ptr.is_null() || len == 0 {
        return;
    }
    let layout = Layout::from_size_align(len, 8).expect("tp_alloc made it");
    // SAFETY: the caller passes back what tp_alloc gave for this layout.
    unsafe { std::alloc::dealloc(ptr, layout) }
}

/// The address of the last text (UTF-8), [`tp_text_len`] bytes.
#[unsafe(no_mangle)]
pub extern "C" fn tp_text_ptr() -> *const u8 {
    PAGE.with_borrow(|page| page.text.as_ptr())
}

/// The length in bytes of the last text.
#[unsafe(no_mangle)]
pub extern "C" fn tp_text_len() -> usize {
    PAGE.with_borrow(|page| page.text.len())
}

/// Loads the weights of model `kind` (0: the VAE, 1: the autoencoder) from a safetensors
/// file of `len` bytes at `bytes` into slot `kind`. Returns 0, or -1 with the reason as the
/// text.
///
/// # Safety
/// `bytes` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_load(kind: u32, bytes: *const u8, len: usize) -> i32 {
    // SAFETY: the caller guarantees `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(bytes, len) };
    with_page(|page| {
        let kind = Kind::from_index(kind).ok_or("no such model")?;
        let mut net = Net::new(kind, 0);
        net.load(bytes)?;
        page.explore[kind as usize] = Some(net);
        Ok(0)
    })
}

/// Reads a digits file of `len` bytes at `bytes` as set `which` (0: test, 1: training).
/// Returns the number of images, or -1 with the reason as the text.
///
/// # Safety
/// `bytes` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_set_digits(which: u32, bytes: *const u8, len: usize) -> i32 {
    // SAFETY: the caller guarantees `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(bytes, len) };
    with_page(|page| {
        let slot = page
            .digits
            .get_mut(which as usize)
            .ok_or("no such digits set")?;
        let digits = Digits::parse(bytes)?;
        let count = digits.len() as i32;
        *slot = Some(digits);
        Ok(count)
    })
}

/// The address of the labels of digits set `which` (one byte per image), null if it is
/// not loaded. Valid until the set is replaced.
#[unsafe(no_mangle)]
pub extern "C" fn tp_labels(which: u32) -> *const u8 {
    PAGE.with_borrow(|page| {
        page.digits(which as usize)
            .map_or(std::ptr::null(), |d| d.labels.as_ptr())
    })
}

/// Encodes every test digit with the model in `slot` (0 VAE, 1 autoencoder, 2 the one in
/// training): `(z₁, z₂)` per image to `mean`, `(σ₁, σ₂)` to `std` (zeros for the
/// autoencoder). Returns the number of images, or -1.
///
/// # Safety
/// `mean` and `std` each have room for `2·count` `f32`s, `count` the test digits' number.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_encode_digits(slot: u32, mean: *mut f32, std: *mut f32) -> i32 {
    with_page(|page| {
        let images = {
            let digits = page.digits(0)?;
            digits.batch(&(0..digits.len()).collect::<Vec<_>>())
        };
        let codes = page.net(slot)?.encode(images);
        // SAFETY: the caller guarantees room for every test digit's code.
        unsafe { write_codes(&codes, mean, std) };
        Ok((codes.mean.len() / LATENT) as i32)
    })
}

/// Encodes one drawing, the 28×28 RGBA bytes of the page's small canvas (ink in the alpha
/// channel) at `rgba`, with the model in `slot`: its image to `pixels` (784 `f32`s, what the
/// model read), its code to `mean` and `std` (2 `f32`s each). Returns 0 or -1.
///
/// # Safety
/// `rgba` points to 3,136 readable bytes; `pixels` to room for 784 `f32`s; `mean` and `std`
/// to room for 2 `f32`s each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_encode_drawing(
    slot: u32,
    rgba: *const u8,
    pixels: *mut f32,
    mean: *mut f32,
    std: *mut f32,
) -> i32 {
    // SAFETY: the caller guarantees 4·784 bytes.
    let rgba = unsafe { std::slice::from_raw_parts(rgba, 4 * IMAGE) };
    with_page(|page| {
        let image = from_canvas(rgba);
        let codes = page
            .net(slot)?
            .encode(tensor::Tensor::from_vec(&[1, 1, 28, 28], image.clone()));
        // SAFETY: the caller guarantees the room.
        unsafe {
            write(pixels, &image);
            write_codes(&codes, mean, std);
        }
        Ok(0)
    })
}

/// Decodes `count` codes (`2·count` `f32`s at `z`) with the model in `slot` into
/// `count·784` `f32`s at `out`. Returns 0 or -1.
///
/// # Safety
/// `z` points to `2·count` readable `f32`s, `out` to room for `784·count`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_decode(slot: u32, z: *const f32, count: usize, out: *mut f32) -> i32 {
    // SAFETY: the caller guarantees `2·count` values.
    let z = unsafe { std::slice::from_raw_parts(z, LATENT * count) };
    with_page(|page| {
        let images = page.net(slot)?.decode(z);
        // SAFETY: the caller guarantees the room.
        unsafe { write(out, &images) };
        Ok(0)
    })
}

/// Decodes `steps` points evenly spaced from `(ax, ay)` to `(bx, by)`, both included,
/// with the model in `slot`, into `steps·784` `f32`s at `out`. Returns 0 or -1.
///
/// # Safety
/// `out` has room for `784·steps` `f32`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_interpolate(
    slot: u32,
    ax: f32,
    ay: f32,
    bx: f32,
    by: f32,
    steps: usize,
    out: *mut f32,
) -> i32 {
    with_page(|page| {
        let images = page.net(slot)?.interpolate([ax, ay], [bx, by], steps);
        // SAFETY: the caller guarantees the room.
        unsafe { write(out, &images) };
        Ok(0)
    })
}

/// Converts `count` grey values in `[0, 1]` at `pixels` to RGBA bytes at `out`, for a
/// canvas ([`to_rgba`]).
///
/// # Safety
/// `pixels` points to `count` readable `f32`s, `out` to room for `4·count` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_rgba(pixels: *const f32, count: usize, out: *mut u8) {
    // SAFETY: the caller guarantees `count` values and the room.
    unsafe {
        let pixels = std::slice::from_raw_parts(pixels, count);
        write(out, &to_rgba(pixels));
    }
}

/// Starts training a fresh model `kind` (0 VAE, 1 autoencoder) from `seed` in slot 2, with
/// the lab's Adam (learning rate 10⁻³) and `batch` images per step.
#[unsafe(no_mangle)]
pub extern "C" fn tp_train_new(kind: u32, seed: u32, batch: u32) -> i32 {
    with_page(|page| {
        let kind = Kind::from_index(kind).ok_or("no such model")?;
        page.trainer = Some(Trainer::new(kind, seed.into(), 1e-3, batch.max(1) as usize));
        Ok(0)
    })
}

/// Takes up to `steps` training steps in slot 2 on the training digits with KL weight
/// `beta`, writing `(total, reconstruction, KL)` of each to `losses`; the text becomes the
/// tape of the last step. Returns the steps taken (fewer if a loss was not finite), or -1.
///
/// # Safety
/// `losses` has room for `3·steps` `f32`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_train_steps(steps: u32, beta: f32, losses: *mut f32) -> i32 {
    with_page(|page| {
        let Page {
            trainer, digits, ..
        } = page;
        let data = digits[1].as_ref().ok_or("digits 1: not loaded")?;
        let trainer = trainer.as_mut().ok_or("no model in training")?;
        trainer.beta = beta;
        let mut taken = Vec::with_capacity(3 * steps as usize);
        for _ in 0..steps {
            let Some(l) = trainer.step(data) else { break };
            taken.extend([l.total, l.reconstruction, l.kl]);
        }
        // SAFETY: the caller guarantees room for `3·steps` values; `taken` has at most that.
        unsafe { write(losses, &taken) };
        page.text = trainer.last_tape.clone();
        Ok((taken.len() / 3) as i32)
    })
}

/// The loss of the model in `slot` on the first 256 training digits, without randomness,
/// with KL weight `beta`: `(total, reconstruction, KL)` to `out`. Returns 0 or -1.
///
/// # Safety
/// `out` has room for 3 `f32`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tp_evaluate(slot: u32, beta: f32, out: *mut f32) -> i32 {
    with_page(|page| {
        let images = {
            let data = page.digits(1)?;
            data.batch(&(0..data.len().min(EVAL_IMAGES)).collect::<Vec<_>>())
        };
        let Losses {
            total,
            reconstruction,
            kl,
        } = page.net(slot)?.evaluate(images, beta);
        // SAFETY: the caller guarantees room for 3 values.
        unsafe { write(out, &[total, reconstruction, kl]) };
        Ok(0)
    })
}
