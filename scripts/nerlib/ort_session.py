"""ONNX Runtime session settings shared by the ONNX methods, so they differ only in what
they are meant to compare."""

import onnxruntime

from .frame import MethodError


def execution_providers(device: str) -> list[str]:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise MethodError(
            "-d cuda: this ONNX Runtime has no CUDA execution provider "
            f"(available: {', '.join(onnxruntime.get_available_providers())}); install onnxruntime-gpu"
        )
    return ["CUDAExecutionProvider"]


def session_options(threads: int) -> onnxruntime.SessionOptions:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options
