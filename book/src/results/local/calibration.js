// No lab run on this machine yet: `cargo run --release -p lab -- run --quick` replaces this file.
(window.labCalibrations = window.labCalibrations || {})[document.currentScript.getAttribute("src")] = null;
