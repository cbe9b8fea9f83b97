//! Which ONNX Runtime library to load: the one the Python onnxruntime (or onnxruntime-gpu) wheel
//! ships, so that Python and Rust run the very same build. ORT_DYLIB_PATH names it; without it,
//! the library of the `python3` on the PATH (the active virtual or conda environment) is used,
//! found as scripts/ort_dylib.py finds it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Prints the onnxruntime package's folder without importing the package (which takes seconds).
const FIND_PACKAGE: &str =
    "import importlib.util as u; s = u.find_spec('onnxruntime'); print(s.submodule_search_locations[0] if s else '')";

pub fn onnxruntime_library() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return Ok(PathBuf::from(path));
    }
    let hint = "set ORT_DYLIB_PATH to the libonnxruntime.so.* of the onnxruntime wheel (python scripts/ort_dylib.py prints it), \
                or activate the environment that has the wheel";
    // -I (isolated): the working directory is not on the import path, so a folder named
    // onnxruntime where the binary runs is not taken for the wheel.
    let output = Command::new("python3")
        .args(["-I", "-c", FIND_PACKAGE])
        .output()
        .map_err(|e| format!("ORT_DYLIB_PATH is not set and python3 cannot be run ({e}): {hint}"))?;
    let package = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if package.is_empty() {
        return Err(format!(
            "ORT_DYLIB_PATH is not set and the python3 on the PATH has no onnxruntime package: {hint}"
        ));
    }
    newest_library(&Path::new(&package).join("capi"))
        .ok_or_else(|| format!("{package}/capi: no libonnxruntime.so.* in the onnxruntime package: {hint}"))
}

/// The libonnxruntime.so.<version> of a wheel's capi folder (the highest version, if several).
fn newest_library(capi: &Path) -> Option<PathBuf> {
    let version = |path: &PathBuf| -> Vec<u32> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        name.split_once(".so.").map_or(vec![], |(_, v)| v.split('.').filter_map(|part| part.parse().ok()).collect())
    };
    std::fs::read_dir(capi)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so.")))
        .max_by_key(version)
}

/// The CUDA and cuDNN libraries the CUDA provider links against, in dependency order. They come
/// from the nvidia-* wheels beside the onnxruntime package, which are not on the loader's path;
/// loading them first, globally, lets the provider find them, as `onnxruntime.preload_dlls()` does
/// for Python. Returns the libraries that could not be loaded (the provider will then say why).
pub fn preload_cuda_libraries(onnxruntime_library: &Path) -> Vec<String> {
    const CUDA: [&str; 6] =
        ["libcublasLt.so.", "libcublas.so.", "libnvrtc.so.", "libcurand.so.", "libcufft.so.", "libcudart.so."];
    // Only beside a wheel's library: another library's ancestors hold nothing we chose to load.
    let Some(site_packages) = wheel_site_packages(onnxruntime_library) else { return vec![] };
    let nvidia = site_packages.join("nvidia");
    let mut wanted: Vec<PathBuf> = Vec::new();
    let libraries_in = |folder: PathBuf| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
            .map_or(vec![], |entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect());
        found.sort();
        found
    };
    let toolkit: Vec<PathBuf> = std::fs::read_dir(&nvidia)
        .map_or(vec![], |entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("cu")))
        .flat_map(|package| libraries_in(package.join("lib")))
        .collect();
    for prefix in CUDA {
        wanted.extend(toolkit.iter().filter(|path| file_name(path).starts_with(prefix)).cloned());
    }
    wanted.extend(
        libraries_in(nvidia.join("cudnn").join("lib")).into_iter().filter(|p| file_name(p).starts_with("libcudnn")),
    );
    let mut failed = Vec::new();
    for library in wanted {
        let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL;
        // SAFETY: these are the NVIDIA runtime libraries, whose initialisers only register themselves.
        match unsafe { libloading::os::unix::Library::open(Some(&library), flags) } {
            // Kept loaded for the whole process: the provider resolves its symbols through them.
            Ok(handle) => std::mem::forget(handle),
            Err(error) => failed.push(format!("{}: {error}", library.display())),
        }
    }
    failed
}

/// The site-packages folder of a wheel's library (site-packages/onnxruntime/capi/libonnxruntime.so.*),
/// or None for a library anywhere else.
fn wheel_site_packages(library: &Path) -> Option<&Path> {
    let capi = library.parent()?;
    let package = capi.parent()?;
    if capi.file_name()? == "capi" && package.file_name()? == "onnxruntime" {
        package.parent()
    } else {
        None
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_highest_versioned_library() {
        let dir = std::env::temp_dir().join(format!("onnxruntime-ner-capi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["libonnxruntime.so.1.9.0", "libonnxruntime.so.1.31.1", "libonnxruntime_providers_shared.so"] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        assert_eq!(newest_library(&dir), Some(dir.join("libonnxruntime.so.1.31.1")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_a_wheels_library_has_a_site_packages_to_preload_from() {
        let wheel = Path::new("/venv/lib/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1");
        assert_eq!(wheel_site_packages(wheel), Some(Path::new("/venv/lib/site-packages")));
        assert_eq!(wheel_site_packages(Path::new("/opt/ort/lib/libonnxruntime.so.1.31.1")), None);
        assert_eq!(wheel_site_packages(Path::new("/x/capi/libonnxruntime.so.1")), None);
    }
}
