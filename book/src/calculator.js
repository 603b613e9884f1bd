// The "When parallelism pays" calculator: the cost model's four formulas (the lab's
// crates/lab/src/pays.rs, `predict`) fed by the constants a lab run wrote to
// results/<machine>/calibration.js. The browser check (book/check/check.py) types the cases of
// results/<machine>/calculator-check.json into it and compares its answers with the model's.
//
// Markup: <div class="lab-calculator" data-calibration="results/local/calibration.js"
//              data-fallback="results/reference-2c/calibration.js"></div>, after the
// <script> tags that load those calibration files and this one.
(function () {
  "use strict";

  // The model (see pays.rs): N elements of e seconds, T tasks each moving B bytes and paying
  // f seconds, C cores; s and eta when the operation is already multithreaded.
  function predict(k, x) {
    var work = x.len * x.element_seconds;
    var cores = Math.max(x.cores, 1);
    var s = x.multithreaded ? k.multithreaded_loop_speedup : 1;
    var eta = x.multithreaded ? k.multithreaded_efficiency : 1;
    var parallel = work / (cores * eta);
    var start = k.process_start_seconds;
    var fixed = x.tasks * x.fixed_per_task;
    var bytes = x.tasks * x.bytes_per_task;
    return {
      loop: work / s,
      threads: k.thread_start_seconds + parallel,
      shared_memory: start + parallel + fixed,
      pool: start + parallel + fixed + bytes / k.pipe_bytes_per_second + bytes / k.memcpy_bytes_per_second,
    };
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
      input.step = "any";
      input.min = "0";
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
    var verdict = document.createElement("p");
    verdict.className = "lab-calculator-verdict";
    div.appendChild(verdict);

    function update() {
      var x = inputs(k, parseFloat(e.value) * 1e-9, parseFloat(len.value), parseFloat(bytes.value),
                     parseFloat(cores.value), mt.checked);
      var t = predict(k, x);
      var best = "loop";
      APPROACHES.forEach(function (a) {
        var s = t[a[0]];
        cells[a[0]][0].setAttribute("data-seconds", String(s));
        cells[a[0]][0].textContent = seconds(s);
        cells[a[0]][1].textContent = isFinite(s) && s > 0 ? (t.loop / s).toFixed(2) + "×" : "–";
        if (s < t[best]) best = a[0];
      });
      var name = APPROACHES.filter(function (a) { return a[0] === best; })[0][1];
      verdict.textContent = "Predicted fastest: " + name + ".";
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
