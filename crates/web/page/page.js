// The page's glue: loads the engine (tp_web.wasm, crates/web), hands it bytes, and draws
// what it returns. No model arithmetic happens here: codes, images, losses and tapes all
// come from the engine's exports (crates/web/src/ffi.rs). What the script computes itself is
// only where things go on the screen: a code's position in a plane's pixels and back.
'use strict';

// Tableau's ten colours, as the report's scatters use them: distinct for ten digits.
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
                 '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const VAE = 0, AE = 1, TRAINING = 2;   // the engine's slots
const TEST = 0, TRAIN = 1;             // its two digit sets
const STRIP = 10;                      // images in an interpolation strip
const CHUNK = 10;                      // training steps per call between two paints

let E = null;          // the engine's exports
let count = 0;         // test digits
let labels = null;     // their labels (copied out of the engine)
const buf = {};        // buffers in the engine's memory, allocated once
const planes = [];     // one per slot: its canvas, codes and view

// --- The engine's memory -------------------------------------------------------------

const f32 = (ptr, n) => new Float32Array(E.memory.buffer, ptr, n);
const u8 = (ptr, n) => new Uint8Array(E.memory.buffer, ptr, n);
const text = () => new TextDecoder().decode(u8(E.tp_text_ptr(), E.tp_text_len()));
function check(rc) {
  if (rc < 0) throw new Error(text());
  return rc;
}
function alloc(name, bytes) {
  buf[name] = E.tp_alloc(bytes);
}
async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
// Copies bytes into a fresh engine buffer and calls f(ptr, len); frees it after.
function withBytes(bytes, f) {
  const ptr = E.tp_alloc(bytes.length);
  u8(ptr, bytes.length).set(bytes);
  try { return f(ptr, bytes.length); } finally { E.tp_free(ptr, bytes.length); }
}

// --- Drawing what the engine made -----------------------------------------------------

// Grey images (count·784 floats at ptr) onto a canvas, side by side.
function paintImages(canvas, ptr, images) {
  E.tp_rgba(ptr, images * 784, buf.rgba);
  const rgba = u8(buf.rgba, images * 784 * 4);
  const ctx = canvas.getContext('2d');
  for (let i = 0; i < images; i++) {
    const tile = new ImageData(28, 28);
    tile.data.set(rgba.subarray(i * 3136, (i + 1) * 3136));
    ctx.putImageData(tile, i * 28, 0);
  }
}

// The plane's view: the codes' range with a margin, square so that circles stay circles.
function fitView(plane) {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < count; i++) {
    const x = plane.mean[2 * i], y = plane.mean[2 * i + 1];
    if (!isFinite(x) || !isFinite(y)) continue;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const half = Math.max(x1 - x0, y1 - y0, 1e-3) * 0.55;
  plane.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, half };
}
const toPixel = (p, x, y) => [
  (x - p.view.cx + p.view.half) / (2 * p.view.half) * p.canvas.width,
  (p.view.cy + p.view.half - y) / (2 * p.view.half) * p.canvas.height];
const toCode = (p, px, py) => [
  p.view.cx - p.view.half + px / p.canvas.width * 2 * p.view.half,
  p.view.cy + p.view.half - py / p.canvas.height * 2 * p.view.half];

// Asks the engine for every test digit's code in `slot`.
function encodeTest(plane) {
  check(E.tp_encode_digits(plane.slot, buf.mean, buf.std));
  plane.mean = Array.from(f32(buf.mean, 2 * count));
}

function drawPlane(plane) {
  const ctx = plane.canvas.getContext('2d');
  const { width, height } = plane.canvas;
  ctx.clearRect(0, 0, width, height);
  // Axes through z = 0 and their titles.
  ctx.strokeStyle = '#ccc'; ctx.lineWidth = 1;
  const [ox, oy] = toPixel(plane, 0, 0);
  ctx.beginPath(); ctx.moveTo(ox, 0); ctx.lineTo(ox, height); ctx.moveTo(0, oy); ctx.lineTo(width, oy); ctx.stroke();
  ctx.fillStyle = '#555'; ctx.font = '12px sans-serif';
  ctx.fillText('z₁ →', width - 34, Math.min(Math.max(oy - 4, 12), height - 4));
  ctx.fillText('z₂ ↑', Math.min(Math.max(ox + 4, 2), width - 30), 12);
  for (let i = 0; i < count; i++) {
    const [x, y] = toPixel(plane, plane.mean[2 * i], plane.mean[2 * i + 1]);
    ctx.fillStyle = COLOURS[labels[i] % 10];
    ctx.globalAlpha = 0.55;
    ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
  }
  ctx.globalAlpha = 1;
  const range = `z₁ ${(plane.view.cx - plane.view.half).toFixed(1)} … ${(plane.view.cx + plane.view.half).toFixed(1)}`;
  ctx.fillStyle = '#555'; ctx.fillText(range, 4, height - 4);
  // The drawing's code, and the VAE's 1σ and 2σ ellipses.
  if (plane.drawn) {
    const { mean, std } = plane.drawn;
    const [x, y] = toPixel(plane, mean[0], mean[1]);
    ctx.strokeStyle = '#000'; ctx.lineWidth = 2;
    for (const k of [1, 2]) {
      const rx = k * std[0] / (2 * plane.view.half) * width, ry = k * std[1] / (2 * plane.view.half) * height;
      if (rx > 0 && ry > 0) { ctx.beginPath(); ctx.ellipse(x, y, rx, ry, 0, 0, 2 * Math.PI); ctx.stroke(); }
    }
    ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.fillStyle = '#fff'; ctx.fill(); ctx.stroke();
  }
  // The interpolation's two ends.
  for (const [name, point] of [['A', plane.a], ['B', plane.b]]) {
    if (!point) continue;
    const [x, y] = toPixel(plane, point[0], point[1]);
    ctx.fillStyle = '#000'; ctx.font = 'bold 14px sans-serif';
    ctx.fillRect(x - 3, y - 3, 6, 6); ctx.fillText(name, x + 5, y - 5);
  }
}

// --- Explore ----------------------------------------------------------------------------

// Decodes code z with the plane's model onto its "decoded at the pointer" canvas.
function decodeAt(plane, z) {
  f32(buf.z, 2).set(z);
  check(E.tp_decode(plane.slot, buf.z, 1, buf.images));
  paintImages(plane.root.querySelector('.hover'), buf.images, 1);
  plane.root.querySelector('.where').textContent = `z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})`;
  plane.decoded = { z, pixels: Array.from(f32(buf.images, 784)) };
  return plane.decoded.pixels;
}

function pick(plane, z) {
  if (!plane.a || plane.b) { plane.a = z; plane.b = null; } else { plane.b = z; }
  if (plane.a && plane.b) {
    check(E.tp_interpolate(plane.slot, plane.a[0], plane.a[1], plane.b[0], plane.b[1], STRIP, buf.images));
    paintImages(plane.root.querySelector('.strip'), buf.images, STRIP);
  }
  drawPlane(plane);
}

function setupPlane(slot) {
  const root = document.getElementById(`panel-${slot}`);
  const plane = { slot, root, canvas: root.querySelector('canvas.plane'), mean: [], view: null, a: null, b: null, drawn: null };
  const at = (event) => {
    const r = plane.canvas.getBoundingClientRect();
    return toCode(plane, (event.clientX - r.left) * plane.canvas.width / r.width,
                  (event.clientY - r.top) * plane.canvas.height / r.height);
  };
  plane.canvas.addEventListener('pointermove', (event) => { if (plane.view && plane.ready) decodeAt(plane, at(event)); });
  plane.canvas.addEventListener('click', (event) => { if (plane.view && plane.ready && plane.strip !== false) pick(plane, at(event)); });
  planes[slot] = plane;
  return plane;
}

// --- Drawing a digit ----------------------------------------------------------------------

const ink = { canvas: null, ctx: null, down: false, last: null };

function setupInk() {
  ink.canvas = document.getElementById('ink');
  ink.ctx = ink.canvas.getContext('2d');
  const at = (event) => {
    const r = ink.canvas.getBoundingClientRect();
    return [(event.clientX - r.left) * ink.canvas.width / r.width, (event.clientY - r.top) * ink.canvas.height / r.height];
  };
  ink.canvas.addEventListener('pointerdown', (e) => { ink.canvas.setPointerCapture(e.pointerId); strokeStart(at(e)); });
  ink.canvas.addEventListener('pointermove', (e) => { if (ink.down) strokeTo(at(e)); });
  ink.canvas.addEventListener('pointerup', () => strokeEnd());
  document.getElementById('clear').addEventListener('click', clearInk);
}
function clearInk() {
  ink.ctx.clearRect(0, 0, ink.canvas.width, ink.canvas.height);
  ink.encoded = null;
  for (const slot of [VAE, AE]) { planes[slot].drawn = null; drawPlane(planes[slot]); }
}
function strokeStart(p) { ink.down = true; ink.last = p; strokeTo(p); }
function strokeTo(p) {
  const ctx = ink.ctx;
  // A pen about 2.2 of the 28 pixels wide, like MNIST's strokes.
  ctx.strokeStyle = '#fff'; ctx.lineWidth = ink.canvas.width / 28 * 2.2; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
  ctx.beginPath(); ctx.moveTo(ink.last[0], ink.last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke();
  ink.last = p;
}
function strokeEnd() { ink.down = false; ink.encoded = encodeDrawing(); return ink.encoded; }

// The drawing shrunk to 28×28 by the browser's canvas (its ink in the alpha channel), then
// encoded and reconstructed by both models.
function encodeDrawing() {
  const small = document.createElement('canvas');
  small.width = small.height = 28;
  const ctx = small.getContext('2d');
  ctx.imageSmoothingEnabled = true; ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(ink.canvas, 0, 0, 28, 28);
  u8(buf.drawing, 3136).set(ctx.getImageData(0, 0, 28, 28).data);
  const out = {};
  for (const slot of [VAE, AE]) {
    const plane = planes[slot];
    check(E.tp_encode_drawing(slot, buf.drawing, buf.pixels, buf.mean, buf.std));
    plane.drawn = { mean: Array.from(f32(buf.mean, 2)), std: Array.from(f32(buf.std, 2)) };
    f32(buf.z, 2).set(plane.drawn.mean);
    check(E.tp_decode(slot, buf.z, 1, buf.images));
    paintImages(plane.root.querySelector('.recon'), buf.images, 1);
    drawPlane(plane);
    out[slot === VAE ? 'vae' : 'ae'] = plane.drawn;
  }
  out.pixels = Array.from(f32(buf.pixels, 784));
  const v = planes[VAE].drawn;
  document.getElementById('drawn').textContent =
    `VAE: μ = (${v.mean[0].toFixed(2)}, ${v.mean[1].toFixed(2)}), σ = (${v.std[0].toFixed(2)}, ${v.std[1].toFixed(2)})`;
  return out;
}

// --- Train here -----------------------------------------------------------------------------

const training = { running: false, stop: false, history: [], kind: VAE, steps: 0 };

function startTraining(kind, seed) {
  check(E.tp_train_new(kind, seed, 64));
  Object.assign(training, { kind, history: [], steps: 0 });
  planes[TRAINING].ready = true;
  encodeTest(planes[TRAINING]); fitView(planes[TRAINING]); drawPlane(planes[TRAINING]);
}

function beta() { return Number(document.getElementById('beta').value); }

// `steps` steps, CHUNK at a time, yielding to the browser between chunks (so the page keeps
// painting and answering the pointer); the plane is encoded again every 50 steps. Returns
// the steps taken and the milliseconds the engine spent on them.
async function train(steps) {
  training.running = true; training.stop = false;
  const status = document.getElementById('train-status');
  const run = { steps: 0, ms: 0 };
  try {
    for (let done = 0; done < steps && !training.stop;) {
      const n = Math.min(CHUNK, steps - done);
      const t0 = performance.now();
      const taken = check(E.tp_train_steps(n, beta(), buf.losses));
      run.ms += performance.now() - t0;
      run.steps += taken;
      training.steps += taken;
      const l = f32(buf.losses, 3 * taken);
      for (let i = 0; i < taken; i++) training.history.push([l[3 * i], l[3 * i + 1], l[3 * i + 2]]);
      done += n;
      if (taken < n) { status.textContent = 'the loss is not finite: stopped'; break; }
      if (training.steps % 50 === 0 || done >= steps) {
        encodeTest(planes[TRAINING]); fitView(planes[TRAINING]); drawPlane(planes[TRAINING]);
      }
      drawLosses();
      document.getElementById('tape').textContent = text();
      status.textContent = `step ${training.steps}: ${(run.ms / run.steps).toFixed(1)} ms per step`;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally { training.running = false; }
  return run;
}

function drawLosses() {
  const canvas = document.getElementById('loss-chart');
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const vae = training.kind === VAE;
  // One chart per term, each with its own scale: the BCE is hundreds of nats, the KL a few.
  const charts = vae
    ? [['BCE (reconstruction), nats per image', 1, '#1f77b4'], ['KL(q(z|x) ‖ N(0, I)), nats per image', 2, '#d62728']]
    : [['MSE per pixel', 0, '#1f77b4']];
  const h = height / charts.length;
  charts.forEach(([title, column, colour], k) => {
    // The title above the box, the step axis under it, the scale to its left.
    const top = k * h + 22, left = 52, bottom = (k + 1) * h - 24, right = width - 10;
    const values = training.history.map((r) => r[column]);
    if (values.length === 0) return;
    const lo = Math.min(...values), hi = Math.max(...values), span = Math.max(hi - lo, 1e-9);
    ctx.strokeStyle = '#888'; ctx.lineWidth = 1;
    ctx.strokeRect(left, top, right - left, bottom - top);
    ctx.fillStyle = '#333'; ctx.font = '11px sans-serif';
    ctx.fillText(title, left, top - 6);
    ctx.fillText(hi.toPrecision(3), 2, top + 10);
    ctx.fillText(lo.toPrecision(3), 2, bottom);
    ctx.fillText(`step (1 … ${values.length})`, (left + right) / 2 - 30, bottom + 14);
    ctx.strokeStyle = colour; ctx.beginPath();
    values.forEach((v, i) => {
      const x = left + (values.length === 1 ? 0 : i / (values.length - 1)) * (right - left);
      const y = bottom - 4 - (v - lo) / span * (bottom - top - 8);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
}

function setupTraining() {
  const betaInput = document.getElementById('beta');
  betaInput.addEventListener('input', () => { document.getElementById('beta-value').textContent = beta().toFixed(1); });
  document.getElementById('train').addEventListener('click', async () => {
    if (training.running) return;
    const kind = Number(document.getElementById('train-kind').value);
    if (!planes[TRAINING].ready || kind !== training.kind) startTraining(kind, 0);
    await train(Number(document.getElementById('train-steps').value));
  });
  document.getElementById('stop').addEventListener('click', () => { training.stop = true; });
  document.getElementById('train-kind').addEventListener('change', () => {
    if (!training.running) startTraining(Number(document.getElementById('train-kind').value), 0);
  });
}

// --- Start, and the self-test ------------------------------------------------------------------

async function main() {
  const status = document.getElementById('status');
  const manifest = await (await fetch('page.json')).json();
  document.getElementById('source').textContent = manifest.source;
  const wasm = await fetchBytes('tp_web.wasm');
  const { instance } = await WebAssembly.instantiate(wasm, {});
  E = instance.exports;
  E.tp_init();
  const [vae, ae, test, trainSet] = await Promise.all(
    ['vae.safetensors', 'ae.safetensors', 'test-digits.bin', 'train-digits.bin'].map(fetchBytes));
  // Hands a file to the engine; its refusal names the file.
  const hand = (name, bytes, f) => {
    try { return withBytes(bytes, (p, n) => check(f(p, n))); } catch (e) { throw new Error(`${name}: ${e.message}`); }
  };
  hand('vae.safetensors', vae, (p, n) => E.tp_load(VAE, p, n));
  hand('ae.safetensors', ae, (p, n) => E.tp_load(AE, p, n));
  count = hand('test-digits.bin', test, (p, n) => E.tp_set_digits(TEST, p, n));
  const trainCount = hand('train-digits.bin', trainSet, (p, n) => E.tp_set_digits(TRAIN, p, n));
  labels = Array.from(u8(E.tp_labels(TEST), count));
  document.getElementById('train-count').textContent = trainCount.toLocaleString('en');
  alloc('mean', 8 * count); alloc('std', 8 * count); alloc('z', 8);
  alloc('images', 4 * 784 * STRIP); alloc('rgba', 4 * 784 * STRIP);
  alloc('drawing', 3136); alloc('pixels', 4 * 784); alloc('losses', 12 * CHUNK); alloc('eval', 12);
  document.getElementById('legend').innerHTML =
    COLOURS.map((c, d) => `<span style="background:${c}">${d}</span>`).join('');

  for (const slot of [VAE, AE, TRAINING]) setupPlane(slot);
  planes[TRAINING].strip = false;
  for (const slot of [VAE, AE]) {
    const plane = planes[slot];
    plane.ready = true;
    encodeTest(plane); fitView(plane); drawPlane(plane);
    decodeAt(plane, [0, 0]);
  }
  setupInk(); setupTraining();
  startTraining(VAE, 0);
  status.textContent = `Engine loaded: ${wasm.length.toLocaleString('en')} bytes of WebAssembly, ${count.toLocaleString('en')} test images.`;

  const params = new URLSearchParams(location.search);
  if (params.has('selftest')) await selfTest(wasm.length);
  if (params.has('demo')) await demo();
}

// A "1" and a "0" as strokes on the 224×224 ink canvas, drawn through the pointer's path.
const STROKES = {
  1: [[[116, 40], [112, 110], [108, 184]]],
  0: [[[112, 40], [70, 70], [60, 120], [78, 172], [120, 186], [160, 160], [168, 104], [150, 56], [112, 40]]],
};
function drawStrokes(strokes) {
  clearInk();
  for (const stroke of strokes) {
    strokeStart(stroke[0]);
    for (const p of stroke.slice(1)) strokeTo(p);
    ink.down = false;
  }
  return strokeEnd();
}

function evaluate(slot) {
  check(E.tp_evaluate(slot, beta(), buf.eval));
  const [total, reconstruction, kl] = f32(buf.eval, 3);
  return { total, reconstruction, kl };
}

// Runs the checks of crates/runner/tests/browser.rs through the functions the controls use,
// and leaves the numbers as JSON in the hidden <pre id="selftest"> for the test to read.
async function selfTest(wasmBytes) {
  const result = { loaded: true, wasm_bytes: wasmBytes, test_images: count };
  const zs = [[0, 0], [1.5, -0.5], [-2, 1]];
  result.decode = { z: zs, vae: zs.map((z) => decodeAt(planes[VAE], z)), ae: zs.map((z) => decodeAt(planes[AE], z)) };
  result.drawn = drawStrokes(STROKES[1]);
  startTraining(VAE, 0);
  result.train = { before: evaluate(TRAINING) };
  await train(50);
  Object.assign(result.train, { after: evaluate(TRAINING), steps: training.steps, tape_lines: text().split('\n').length });
  // The speed, once the browser has compiled the engine's hot loops with its optimising
  // tier (the first steps run on its baseline compiler): 50 more steps.
  const timed = await train(50);
  result.train.ms_per_step = timed.ms / timed.steps;
  document.getElementById('selftest').textContent = JSON.stringify(result);
}

// The state the README's screenshot shows: a drawn 0, an interpolation on each plane, a
// pointer over the VAE's plane, and 200 training steps.
async function demo() {
  drawStrokes(STROKES[0]);
  for (const slot of [VAE, AE]) {
    const p = planes[slot];
    const c = (i) => [p.mean[2 * i], p.mean[2 * i + 1]];
    const first = (d) => labels.indexOf(d);
    pick(p, c(first(1))); pick(p, c(first(0)));
    decodeAt(p, c(first(7)));
  }
  await train(200);
  decodeAt(planes[TRAINING], [0, 0]);
  document.title = 'demo ready';
}

main().catch((error) => {
  const status = document.getElementById('status');
  status.textContent = `The page could not start: ${error.message}`;
  status.className = 'error';
  if (new URLSearchParams(location.search).has('selftest')) {
    document.getElementById('selftest').textContent = JSON.stringify({ loaded: false, error: String(error.message) });
  }
});
