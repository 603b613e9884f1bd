// The "When parallelism pays" calculator: the cost model's four formulas (the lab's
// crates/lab/src/pays.rs, `predict`) fed by the constants a lab run wrote to
// results/<machine>/calibration.js. The browser check (book/check/check.py) types the cases of
// results/<machine>/calculator-check.json into it and compares its answers with the model's,
// and types the cases the model refuses, which it must refuse too: no times, no verdict.
//
// Markup: <div class="lab-calculator" data-calibration="results/local/calibration.js"
//              data-fallback="results/reference-2c/calibration.js"></div>, after the
// <script> tags that load those calibration files and this one.
(function () {
  "use strict";

  // The model (see pays.rs): N elements of e seconds, T tasks each moving B bytes and paying
  // f seconds, C cores (a whole number, at least 1: `number` below refuses anything else);
  // s and eta when the operation is already multithreaded. Threads get no time (null) when
  // the calibration did not measure their start.
  function predict(k, x) {
    var work = x.len * x.element_seconds;
    var cores = x.cores;
    var s = x.multithreaded ? k.multithreaded_loop_speedup : 1;
    var eta = x.multithreaded ? k.multithreaded_efficiency : 1;
    var parallel = work / (cores * eta);
    var start = k.process_start_seconds;
    var fixed = x.tasks * x.fixed_per_task;
    var bytes = x.tasks * x.bytes_per_task;
    return {
      loop: work / s,
      threads: threadStart(k) === null ? null : threadStart(k) + parallel,
      shared_memory: start + parallel + fixed,
      pool: start + parallel + fixed + bytes / k.pipe_bytes_per_second + bytes / k.memcpy_bytes_per_second,
    };
  }

  // The threads' start cost, or null when the calibration did not measure it (pays.rs writes
  // null then; an older calibration.js may hold 0).
  function threadStart(k) {
    var t = k.thread_start_seconds;
    return typeof t === "number" && isFinite(t) && t > 0 ? t : null;
  }

  // A decimal number as Rust's f64 parser reads one (no hex, no empty text).
  var DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  // A field's number, or the reason it is refused (as pays.rs's Typed::read): a number of
  // at least `least` (a whole one when `whole`); empty, non-numeric, NaN or infinite refused.
  function number(label, text, least, whole) {
    var t = String(text).trim();
    var v = DECIMAL.test(t) ? Number(t) : NaN;
    if (isFinite(v) && v >= least && (!whole || Math.floor(v) === v)) return { value: v };
    return { error: label + ": enter " + (whole ? "a whole number" : "a number") + " of at least " + least };
  }

  // The calculator's question: one task per core, each with a task and a result message.
  function inputs(k, elementSeconds, len, bytesPerTask, cores, multithreaded) {
    return {
      element_seconds: elementSeconds,
      len: len,
      tasks: cores,
      bytes_per_task: bytesPerTask,
      fixed_per_task: 2 * k.message_seconds,
      cores: cores,
      multithreaded: multithreaded,
    };
  }

  var APPROACHES = [
    ["loop", "a plain loop"],
    ["pool", "a process pool (copies through pipes)"],
    ["shared_memory", "worker processes, shared memory"],
    ["threads", "threads in one process"],
  ];

  function seconds(s) {
    if (!isFinite(s)) return "–";
    if (s >= 1) return s.toFixed(3) + " s";
    if (s >= 1e-3) return (s * 1e3).toFixed(3) + " ms";
    return (s * 1e6).toFixed(2) + " µs";
  }

  function field(form, name, label, value, type) {
    var row = document.createElement("label");
    row.style.display = "block";
    row.textContent = label + " ";
    var input = document.createElement("input");
    input.name = name;
    input.type = type || "number";
    if (input.type === "checkbox") input.checked = !!value;
    else {
      input.value = String(value);
      input.step = name === "cores" ? "1" : "any";
      input.min = name === "cores" ? "1" : "0";
    }
    row.appendChild(input);
    form.appendChild(row);
    return input;
  }

  function mount(div) {
    var all = window.labCalibrations || {};
    var wanted = div.getAttribute("data-calibration");
    var fallback = div.getAttribute("data-fallback");
    var using = all[wanted] ? wanted : fallback && all[fallback] ? fallback : null;
    div.textContent = "";
    if (!using) {
      div.textContent = "No calibration to compute with: run the lab (see above).";
      return;
    }
    var cal = all[using];
    var k = cal.constants;
    div.setAttribute("data-using", using);
    var note = document.createElement("p");
    note.className = "lab-calculator-source";
    note.textContent =
      (using === wanted ? "" : "No calibration of your machine yet; ") +
      "constants of machine " + cal.machine + " (" + cal.date + ", " + k.cores + " cores).";
    div.appendChild(note);
    var form = document.createElement("form");
    form.onsubmit = function () { return false; };
    var len0 = cal.default_len;
    var e = field(form, "element_ns", "work per element (ns, one core)", +(cal.default_element_seconds * 1e9).toPrecision(4));
    var len = field(form, "len", "array length (elements)", len0);
    var bytes = field(form, "bytes_per_task", "bytes moved per task (one task per core)", Math.round((8 * len0) / k.cores));
    var cores = field(form, "cores", "cores", k.cores);
    var mt = field(form, "multithreaded", "the operation is already multithreaded (like a BLAS call)", false, "checkbox");
    div.appendChild(form);
    var table = document.createElement("table");
    table.className = "lab-calculator-out";
    var head = table.insertRow();
    ["approach", "predicted time", "speed-up over the loop"].forEach(function (h) {
      var th = document.createElement("th");
      th.textContent = h;
      head.appendChild(th);
    });
    var cells = {};
    APPROACHES.forEach(function (a) {
      var row = table.insertRow();
      row.insertCell().textContent = a[1];
      var t = row.insertCell();
      t.setAttribute("data-approach", a[0]);
      var x = row.insertCell();
      cells[a[0]] = [t, x];
    });
    div.appendChild(table);
    var error = document.createElement("p");
    error.className = "lab-calculator-error";
    error.setAttribute("role", "alert");
    error.style.color = "#b00020";
    div.appendChild(error);
    var verdict = document.createElement("p");
    verdict.className = "lab-calculator-verdict";
    div.appendChild(verdict);

    // No times and no verdict, and why.
    function refuse(problems) {
      APPROACHES.forEach(function (a) {
        cells[a[0]][0].removeAttribute("data-seconds");
        cells[a[0]][0].textContent = "–";
        cells[a[0]][1].textContent = "–";
      });
      verdict.textContent = "";
      verdict.removeAttribute("data-best");
      error.textContent = problems.join("; ") + ".";
    }

    function update() {
      var fields = [
        number("work per element", e.value, 0, false),
        number("array length", len.value, 0, false),
        number("bytes moved per task", bytes.value, 0, false),
        number("cores", cores.value, 1, true),
      ];
      var problems = fields.filter(function (f) { return "error" in f; }).map(function (f) { return f.error; });
      if (problems.length) return refuse(problems);
      var v = fields.map(function (f) { return f.value; });
      var t = predict(k, inputs(k, v[0] * 1e-9, v[1], v[2], v[3], mt.checked));
      var overflow = APPROACHES.some(function (a) { return t[a[0]] !== null && !isFinite(t[a[0]]); });
      if (overflow) return refuse(["a predicted time is too large to compute: enter smaller numbers"]);
      error.textContent = "";
      // the fastest of the approaches with a time, the earlier in APPROACHES on a tie (pays.rs)
      var best = "loop";
      APPROACHES.forEach(function (a) {
        var s = t[a[0]];
        var cell = cells[a[0]];
        if (s === null) {
          cell[0].removeAttribute("data-seconds");
          cell[0].textContent = "not measured";
          cell[1].textContent = "–";
          return;
        }
        cell[0].setAttribute("data-seconds", String(s));
        cell[0].textContent = seconds(s);
        cell[1].textContent = s > 0 ? (t.loop / s).toFixed(2) + "×" : "–";
        if (s < t[best]) best = a[0];
      });
      var name = APPROACHES.filter(function (a) { return a[0] === best; })[0][1];
      verdict.setAttribute("data-best", best);
      verdict.textContent = "Predicted fastest: " + name + "." +
        (t.threads === null ? " (Threads are left out: this calibration did not measure their start.)" : "");
    }
    [e, len, bytes, cores, mt].forEach(function (input) {
      input.addEventListener("input", update);
      input.addEventListener("change", update);
    });
    update();
  }

  function mountAll() {
    Array.prototype.forEach.call(document.querySelectorAll(".lab-calculator"), mount);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
