"""ONNX Runtime session settings shared by the ONNX methods, so they differ only in what
they are meant to compare."""

import onnxruntime

from .frame import MethodError


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
    return [("CUDAExecutionProvider", CUDA_OPTIONS)]


def session_options(threads: int) -> onnxruntime.SessionOptions:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


class IOBinding:
    """Runs a session with its inputs copied to, and its logits copied from, the device as
    separate steps, so that host-device copies are timed apart from the computation."""

    def __init__(self, session: onnxruntime.InferenceSession, device: str):
        self.session, self.device = session, device

    def upload(self, input_ids, attention_mask) -> onnxruntime.IOBinding:
        binding = self.session.io_binding()
        for name, array in (("input_ids", input_ids), ("attention_mask", attention_mask)):
            binding.bind_ortvalue_input(name, onnxruntime.OrtValue.ortvalue_from_numpy(array, self.device, 0))
        binding.bind_output("logits", self.device)
        return binding

    def run(self, binding: onnxruntime.IOBinding) -> onnxruntime.IOBinding:
        self.session.run_with_iobinding(binding)
        return binding

    def download(self, binding: onnxruntime.IOBinding):
        return binding.copy_outputs_to_cpu()[0]
