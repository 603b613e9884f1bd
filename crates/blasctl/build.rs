//! Find OpenBLAS before anything tries to link it, and say how to install it when it is missing.
//!
//! `openblas-src` (feature `system`) asks pkg-config too, but when that fails it carries on and
//! the build ends in a linker error far from the cause. This script stops first, in one message.

fn main() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    if std::env::var("DOCS_RS").is_ok() {
        return;
    }
    if let Err(err) = pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("openblas")
    {
        let reason = err.to_string();
        let reason = reason.lines().next().unwrap_or("pkg-config failed");
        panic!(
            "\n\nOpenBLAS was not found ({reason}).\n\
             Install it, with pkg-config, and build again:\n  \
             Debian/Ubuntu: sudo apt-get install -y libopenblas-dev pkg-config\n  \
             Fedora:        sudo dnf install -y openblas-devel pkgconf-pkg-config\n  \
             macOS:         brew install openblas pkg-config && \
             export PKG_CONFIG_PATH=\"$(brew --prefix openblas)/lib/pkgconfig\"\n\n"
        );
    }
}
