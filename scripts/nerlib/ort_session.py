"""ONNX Runtime session settings shared by the ONNX methods, so they differ only in what
they are meant to compare."""

import contextlib
import sys

import onnxruntime

from .model_dir import MethodError

# ONNX Runtime's CUDA provider computes fp32 matrix products in TF32 by default (PyTorch does
# not): on the H200 that flipped 0.2% of entities against the CPU reference. fp32 means fp32.
CUDA_OPTIONS = {"use_tf32": "0"}


def execution_providers(device: str) -> list:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise MethodError(
            "-d cuda: this ONNX Runtime has no CUDA execution provider "
            f"(available: {', '.join(onnxruntime.get_available_providers())}); install onnxruntime-gpu"
        )
    # The CUDA and cuDNN libraries come from the nvidia-* wheels, which are not on the loader's
    # path; the GPU wheel loads them itself (torch, where imported first, has already done so).
    # It reports what it cannot load on stdout, which is not ours to write to.
    with contextlib.redirect_stdout(sys.stderr):
        onnxruntime.preload_dlls()
    return [("CUDAExecutionProvider", CUDA_OPTIONS)]


def check_providers(session: onnxruntime.InferenceSession, device: str) -> None:
    """The providers the session really runs on: ONNX Runtime lists the CUDA provider as
    available whenever the GPU wheel is installed, and when it cannot start it (no GPU, no driver,
    a missing library) it logs a warning and runs the whole graph on the CPU."""
    if device == "cuda" and session.get_providers()[0] != "CUDAExecutionProvider":
        raise MethodError(
            "-d cuda: ONNX Runtime could not start its CUDA provider and fell back to the CPU "
            f"(session providers: {', '.join(session.get_providers())}; its log above says why)"
        )


# The inputs nerbench can feed a token-classification graph: what the frame pads.
KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def graph_inputs(session: onnxruntime.InferenceSession, path) -> list[str]:
    """The inputs the graph declares, in order; one the frame cannot give is refused by name."""
    names = [item.name for item in session.get_inputs()]
    unknown = [name for name in names if name not in KNOWN_INPUTS]
    if unknown or "input_ids" not in names:
        raise MethodError(
            f"{path}: the graph's inputs {names} are not a token classifier's ({', '.join(KNOWN_INPUTS)})"
        )
    return names


def graph_logits(session: onnxruntime.InferenceSession, path) -> None:
    if "logits" not in [item.name for item in session.get_outputs()]:
        outputs = [item.name for item in session.get_outputs()]
        raise MethodError(f"{path}: the graph has no output named logits (outputs: {', '.join(outputs)})")


def add_session_arguments(parser) -> None:
    """The command-line options of every ONNX Runtime method (onnxruntime-ner has the same)."""
    parser.add_argument(
        "--u8u8",
        action="store_true",
        help="int8 products as U8U8 (session.x64quantprecision): U8S8 can saturate on x86 CPUs without VNNI",
    )


def session_options(threads: int, u8u8: bool = False) -> onnxruntime.SessionOptions:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if u8u8:
        # ONNX Runtime rewrites the graph's s8 weights to u8 at load where U8S8 can saturate: x86
        # CPUs without VNNI (AVX2, AVX-512 without VNNI). Elsewhere the products stay as they were.
        options.add_session_config_entry("session.x64quantprecision", "1")
    return options


class IOBinding:
    """Runs a session with its inputs copied to, and its logits copied from, the device as
    separate steps, so that host-device copies are timed apart from the computation."""

    def __init__(self, session: onnxruntime.InferenceSession, device: str, input_names: list[str]):
        self.session, self.device, self.input_names = session, device, input_names

    def upload(self, inputs: dict) -> onnxruntime.IOBinding:
        binding = self.session.io_binding()
        for name in self.input_names:
            binding.bind_ortvalue_input(name, onnxruntime.OrtValue.ortvalue_from_numpy(inputs[name], self.device, 0))
        binding.bind_output("logits", self.device)
        return binding

    def run(self, binding: onnxruntime.IOBinding) -> onnxruntime.IOBinding:
        self.session.run_with_iobinding(binding)
        return binding

    def download(self, binding: onnxruntime.IOBinding):
        return binding.copy_outputs_to_cpu()[0]
