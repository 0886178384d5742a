//! The page of `tp page` in a real browser: headless Chromium driven by chromedriver over
//! WebDriver's plain HTTP, the page served from a local port by a thread of this test.
//!
//! The page's self-test (`index.html?selftest=1`, in `crates/web/page/page.js`) runs through
//! the functions its controls use and leaves its numbers in the DOM; this test compares them
//! with the same engine run natively here:
//! - the page loads (the engine, both models' weights, the digits);
//! - decoding fixed codes gives the pixels `tp`'s engine gives natively, within 1e-6;
//! - a "1" drawn by the page's pen lands among the test set's 1s in the VAE's plane, both
//!   through the self-test's strokes and with real pointer events (WebDriver actions), and
//!   the image decoded under the pointer is the native engine's;
//! - 50 training steps of the VAE in the page lower its loss;
//! - a damaged weights file makes the page say which file it is;
//! - a screenshot of the page (`?demo=1`) is written to the test's output folder
//!   (`target/tmp/browser/page.png`) and is not blank;
//! - the time of a training step in the page and natively on one thread (reported, not
//!   asserted).
//!
//! Without Chromium, chromedriver or the engine built for wasm32 the test says what is
//! missing and passes, so that `cargo test --workspace` works on a machine with cargo alone;
//! with `TP_REQUIRE_BROWSER=1` (CI sets it after installing them) a missing piece fails it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tp_web::digits::Digits;
use tp_web::{Kind, Net, Trainer};

/// Codes the page decodes (`page.js`'s self-test).
const CODES: [[f32; 2]; 3] = [[0.0, 0.0], [1.5, -0.5], [-2.0, 1.0]];
/// The key of an element reference in WebDriver's JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Neighbours of the drawn code whose labels vote on its region.
const NEIGHBOURS: usize = 25;

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser")
}

/// `<target>/wasm32-unknown-unknown/release/tp_web.wasm` (the target folder holds `tmp/`).
fn wasm_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("wasm32-unknown-unknown/release/tp_web.wasm")
}

/// The first of `names` found on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// What is missing to run the test, if anything.
fn prerequisites() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let wasm = wasm_path();
    if !wasm.is_file() {
        return Err(format!(
            "{} is not built (cargo build --release --target wasm32-unknown-unknown -p tp-web)",
            wasm.display()
        ));
    }
    let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"])
        .ok_or("no chromium on PATH (apt-get install chromium)")?;
    let driver = on_path(&["chromedriver"])
        .ok_or("no chromedriver on PATH (apt-get install chromium-driver)")?;
    Ok((wasm, chromium, driver))
}

// --- A static file server on a local port ------------------------------------------------

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Serves the files of `root` (GET only) on a free local port, from a thread; returns it.
fn serve(root: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &root);
            });
        }
    });
    port
}

fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Headers, up to the blank line.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let name = target
        .split('?')
        .next()
        .unwrap_or("/")
        .trim_start_matches('/');
    let path = root.join(if name.is_empty() { "index.html" } else { name });
    let safe = !name.contains("..");
    match std::fs::read(&path) {
        Ok(body) if safe => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                mime(&path),
                body.len()
            )?;
            stream.write_all(&body)
        }
        _ => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    }
}

// --- WebDriver over plain HTTP ----------------------------------------------------------------

/// One HTTP request to chromedriver; the JSON body of its answer. (chromedriver keeps the
/// connection open whatever the request asks, so the body is read by its Content-Length.)
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    (&stream)
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value
                .trim()
                .parse()
                .map_err(|_| format!("bad header {line}"))?;
        }
    }
    let mut json = vec![0; length];
    reader.read_exact(&mut json).map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| format!("{method} {path}: {e}"))
}

/// chromedriver and one headless Chromium session; both end when this is dropped.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    fn start(driver: &Path, chromium: &Path) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser = Browser {
            driver: child,
            port,
            session: String::new(),
        };
        let start = Instant::now();
        while http(port, "GET", "/status", None).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not answer"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--window-size=1400,1700"]
        }}}});
        let answer = http(port, "POST", "/session", Some(&capabilities)).unwrap();
        browser.session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_string();
        browser
    }

    fn call(&self, method: &str, what: impl AsRef<str>, body: Option<&Value>) -> Value {
        let what = what.as_ref();
        let path = format!("/session/{}/{what}", self.session);
        let answer = http(self.port, method, &path, body).unwrap();
        answer["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "url", Some(&json!({ "url": url })));
    }

    /// Runs `script` in the page until it returns a non-empty string (or `limit` passes).
    fn wait_for(&self, script: &str, limit: Duration) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let value = self.call(
                "POST",
                "execute/sync",
                Some(&json!({"script": script, "args": []})),
            );
            if let Some(s) = value.as_str().filter(|s| !s.is_empty()) {
                return Some(s.to_string());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    }

    /// The WebDriver reference of the element `css` selects.
    fn element(&self, css: &str) -> Value {
        let found = self.call(
            "POST",
            "element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        assert!(found.get(ELEMENT).is_some(), "no element {css}: {found}");
        found
    }

    fn element_id(&self, css: &str) -> String {
        self.element(css)[ELEMENT].as_str().unwrap().to_string()
    }

    /// Performs a mouse's `steps` (WebDriver pointer actions), then releases it.
    fn pointer(&self, steps: Vec<Value>) {
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": steps
        }]});
        self.call("POST", "actions", Some(&actions));
        self.call("DELETE", "actions", None);
    }

    fn screenshot(&self) -> Vec<u8> {
        let value = self.call("GET", "screenshot", None);
        base64_decode(value.as_str().expect("a base64 screenshot"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let v: u32 = chunk
            .iter()
            .enumerate()
            .map(|(i, &c)| (value(c) as u32) << (18 - 6 * i))
            .sum();
        out.extend_from_slice(&v.to_be_bytes()[1..chunk.len()]);
    }
    out
}

// --- The checks ------------------------------------------------------------------------------

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("an array of numbers")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

fn load_net(kind: Kind, path: &Path) -> Net {
    let mut net = Net::new(kind, 0);
    net.load(&std::fs::read(path).unwrap()).unwrap();
    net
}

/// The label most of the `NEIGHBOURS` nearest test means of `z` have.
fn region(z: &[f32], means: &[f32], labels: &[u8]) -> (u8, usize) {
    let mut by_distance: Vec<(f32, u8)> = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let (dx, dy) = (means[2 * i] - z[0], means[2 * i + 1] - z[1]);
            (dx * dx + dy * dy, l)
        })
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut votes = [0usize; 10];
    for &(_, l) in &by_distance[..NEIGHBOURS] {
        votes[l as usize] += 1;
    }
    let best = (0..10).max_by_key(|&d| votes[d]).unwrap();
    (best as u8, votes[best])
}

/// Milliseconds per training step of the dense VAE (batch 64) natively, on one thread.
fn native_step_ms(train: &Digits) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        // As in the page: 50 steps, then 50 timed.
        let mut trainer = Trainer::new(Kind::Vae, 0, 1e-3, 64);
        for _ in 0..50 {
            trainer.step(train).unwrap();
        }
        let start = Instant::now();
        for _ in 0..50 {
            trainer.step(train).unwrap();
        }
        start.elapsed().as_secs_f64() * 1000.0 / 50.0
    })
}

#[test]
fn the_page_runs_the_engine_in_a_browser() {
    let (wasm, chromium, driver) = match prerequisites() {
        Ok(found) => found,
        Err(missing) if std::env::var("TP_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("TP_REQUIRE_BROWSER=1 but {missing}")
        }
        Err(missing) => {
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "skipped the browser test: {missing} (TP_REQUIRE_BROWSER=1 makes this fail)"
            );
            return;
        }
    };
    let out = out_dir();
    let _ = std::fs::remove_dir_all(&out);
    let page = out.join("page");
    // Short runs, trained for the test (3 epochs of the committed sample), unless
    // TP_PAGE_RUNS names a runs folder to take them from (`tp all`'s, for the README's
    // screenshot).
    let runs = std::env::var_os("TP_PAGE_RUNS").map_or(out.join("runs"), PathBuf::from);
    let status = Command::new(env!("CARGO_BIN_EXE_tp"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["page", "--epochs", "3", "--threads", "2", "--page"])
        .arg(&page)
        .arg("--out")
        .arg(&runs)
        .arg("--wasm")
        .arg(&wasm)
        .status()
        .unwrap();
    assert!(status.success(), "tp page failed");

    let port = serve(page.clone());
    let browser = Browser::start(&driver, &chromium);
    browser.open(&format!("http://127.0.0.1:{port}/index.html?selftest=1"));
    let text = browser
        .wait_for(
            "return document.getElementById('selftest').textContent",
            Duration::from_secs(240),
        )
        .expect("the page's self-test did not finish in 4 minutes");
    let result: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(result["loaded"], true, "the page did not load: {result}");

    // Decoding: the page's pixels are the native engine's.
    let mut worst = 0f32;
    for (kind, key, file) in [
        (Kind::Vae, "vae", "vae.safetensors"),
        (Kind::Autoencoder, "ae", "ae.safetensors"),
    ] {
        let mut net = load_net(kind, &page.join(file));
        for (i, z) in CODES.iter().enumerate() {
            let native = net.decode(z);
            let in_page = floats(&result["decode"][key][i]);
            assert_eq!(native.len(), in_page.len());
            for (a, b) in native.iter().zip(&in_page) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    assert!(
        worst <= 1e-6,
        "decoded pixels differ by up to {worst:e} from native"
    );

    // The drawn "1": its code is the native code of the pixels the page read, among the 1s.
    let test = Digits::parse(&std::fs::read(page.join("test-digits.bin")).unwrap()).unwrap();
    let drawn = floats(&result["drawn"]["pixels"]);
    let ink: f32 = drawn.iter().sum();
    assert!(ink > 20.0, "the drawing has almost no ink ({ink})");
    let mut regions = Vec::new();
    for (kind, key, file) in [
        (Kind::Vae, "vae", "vae.safetensors"),
        (Kind::Autoencoder, "ae", "ae.safetensors"),
    ] {
        let mut net = load_net(kind, &page.join(file));
        let native = net.encode(tensor::Tensor::from_vec(&[1, 1, 28, 28], drawn.clone()));
        let in_page = floats(&result["drawn"][key]["mean"]);
        for (a, b) in native.mean.iter().zip(&in_page) {
            assert!(
                (a - b).abs() <= 1e-5,
                "{key}: drawn code {in_page:?} in the page, {:?} natively",
                native.mean
            );
        }
        let means = net
            .encode(test.batch(&(0..test.len()).collect::<Vec<_>>()))
            .mean;
        regions.push((key, region(&in_page, &means, &test.labels)));
    }
    println!("the drawn 1's region (label, votes of {NEIGHBOURS}): {regions:?}");
    assert_eq!(
        regions[0].1.0, 1,
        "the VAE put the drawn 1 among other digits: {regions:?}"
    );

    // The same with real pointer events (WebDriver actions): a 1 drawn on the ink canvas,
    // then the pointer over the VAE's plane, decoded there.
    let ink = browser.element("#ink");
    let stroke: Vec<Value> = [(4, -70), (0, -20), (-2, 30), (-4, 72)]
        .iter()
        .enumerate()
        .flat_map(|(i, &(x, y))| {
            let mut steps =
                vec![json!({"type": "pointerMove", "duration": 20, "origin": ink, "x": x, "y": y})];
            if i == 0 {
                steps.push(json!({"type": "pointerDown", "button": 0}));
            }
            steps
        })
        .chain([json!({"type": "pointerUp", "button": 0})])
        .collect();
    browser.call(
        "POST",
        "element/".to_string() + &browser.element_id("#clear") + "/click",
        Some(&json!({})),
    );
    browser.pointer(stroke);
    let drawn: Value = serde_json::from_str(
        &browser
            .wait_for(
                "return ink.encoded ? JSON.stringify(ink.encoded) : ''",
                Duration::from_secs(30),
            )
            .expect("the pointer's drawing was not encoded"),
    )
    .unwrap();
    let mut vae = load_net(Kind::Vae, &page.join("vae.safetensors"));
    let pixels = floats(&drawn["pixels"]);
    let native = vae.encode(tensor::Tensor::from_vec(&[1, 1, 28, 28], pixels));
    let in_page = floats(&drawn["vae"]["mean"]);
    for (a, b) in native.mean.iter().zip(&in_page) {
        assert!(
            (a - b).abs() <= 1e-5,
            "pointer drawing: {in_page:?} in the page, {:?} natively",
            native.mean
        );
    }
    let means = vae
        .encode(test.batch(&(0..test.len()).collect::<Vec<_>>()))
        .mean;
    let pointer_region = region(&in_page, &means, &test.labels);
    println!("the 1 drawn with the pointer: {pointer_region:?}");
    assert_eq!(
        pointer_region.0, 1,
        "the VAE put the pointer's 1 among other digits"
    );
    let plane = browser.element("#panel-0 canvas.plane");
    browser.call(
        "POST",
        "execute/sync",
        Some(&json!({"script": "planes[0].decoded = null", "args": []})),
    );
    browser.pointer(vec![
        json!({"type": "pointerMove", "duration": 50, "origin": plane, "x": 40, "y": -60}),
    ]);
    let decoded: Value = serde_json::from_str(
        &browser
            .wait_for(
                "const d = planes[0].decoded; return d ? JSON.stringify(d) : ''",
                Duration::from_secs(30),
            )
            .expect("moving the pointer decoded nothing"),
    )
    .unwrap();
    let z = floats(&decoded["z"]);
    let native = vae.decode(&z);
    let hover_worst = native
        .iter()
        .zip(floats(&decoded["pixels"]))
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        hover_worst <= 1e-6,
        "the pointer's decoded image differs by {hover_worst:e}"
    );

    // Training in the page lowers the loss.
    let train = &result["train"];
    let (before, after) = (
        train["before"]["total"].as_f64().unwrap(),
        train["after"]["total"].as_f64().unwrap(),
    );
    assert_eq!(train["steps"], 50);
    assert!(
        after < before,
        "50 steps in the page: loss {before} → {after}"
    );
    assert!(train["tape_lines"].as_u64().unwrap() > 10, "no tape");

    // A damaged weights file: the page says which, instead of failing silently.
    let bad = out.join("bad-page");
    std::fs::create_dir_all(&bad).unwrap();
    for entry in std::fs::read_dir(&page).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, bad.join(path.file_name().unwrap())).unwrap();
    }
    let weights = std::fs::read(page.join("vae.safetensors")).unwrap();
    std::fs::write(bad.join("vae.safetensors"), &weights[..weights.len() / 2]).unwrap();
    let bad_port = serve(bad);
    browser.open(&format!("http://127.0.0.1:{bad_port}/index.html"));
    let status = browser
        .wait_for(
            "const s = document.getElementById('status'); return s.className === 'error' ? s.textContent : ''",
            Duration::from_secs(60),
        )
        .expect("the damaged page showed no error");
    assert!(status.contains("vae.safetensors"), "{status}");

    // The screenshot, in the demo state.
    browser.open(&format!("http://127.0.0.1:{port}/index.html?demo=1"));
    browser
        .wait_for(
            "return document.title === 'demo ready' ? 'yes' : ''",
            Duration::from_secs(240),
        )
        .expect("the demo did not finish");
    let png_bytes = browser.screenshot();
    let shot = out.join("page.png");
    std::fs::write(&shot, &png_bytes).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let pixels = &pixels[..info.buffer_size()];
    let mut colours: Vec<&[u8]> = pixels.chunks(info.color_type.samples()).collect();
    colours.sort();
    colours.dedup();
    assert!(
        colours.len() > 50,
        "the screenshot has {} colours: blank",
        colours.len()
    );

    // Speed: reported, not asserted.
    let train_set = Digits::parse(&std::fs::read(page.join("train-digits.bin")).unwrap()).unwrap();
    let native = native_step_ms(&train_set);
    let in_page = train["ms_per_step"].as_f64().unwrap();
    let page_bytes: u64 = std::fs::read_dir(&page)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let report = json!({
        "screenshot": shot,
        "vae_step_ms_native_one_thread": native,
        "vae_step_ms_page": in_page,
        "page_over_native": in_page / native,
        "page_bytes": page_bytes,
        "wasm_bytes": result["wasm_bytes"],
        "decode_worst_difference": worst,
        "pointer_decode_worst_difference": hover_worst,
        "pointer_drawn_region": format!("{pointer_region:?}"),
        "drawn_regions": format!("{regions:?}"),
        "loss_before_after": [before, after],
    });
    std::fs::write(
        out.join("timings.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("browser test: {report:#}");
}
