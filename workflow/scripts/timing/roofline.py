#!/usr/bin/env python3
"""A roofline reference for the inference phase, one ceiling per number format.

1. Matrix-product peaks, measured on this machine with the thread count the methods use, each
   the best of repeated products:
   - CPU fp32: ONNX Runtime's MatMul, torch, oneDNN and numpy on the model's largest product and
     a square one, whichever is faster;
   - CPU int8: ONNX Runtime's MatMulInteger (uint8 activations × int8 weights, int32 sums: the
     kernel its quantized operators run) on the model's largest product (a batch of 2048 tokens
     through the feed-forward layer) and on a square one, whichever is faster;
   - CPU bf16: square products in torch, where the CPU has bf16 instructions (AVX512-BF16, AMX);
   - GPU (when torch sees one): fp32 with TF32 off, fp16 and bf16 square products in torch.
It measures them on a machine (the `roofline` job, alone there, like a timed cell,
after the same quiet start). A CPU peak measured while other processes ran is too low, and a cell
timed later on a quiet host passes it: the host's load is recorded around each measurement
(host_load.py), and a contended one is measured again, each product's best rate kept.

The corpus's FLOPs, which the tables put against these peaks, are counted by report/flops.py.
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

import common  # noqa: F401  (puts the grid package on the path)
import host_load
from nerbench.flops import model_shape
from nerbench.host import CPU_FEATURES, VNNI_FLAGS, cpu_description, cpu_flags
from nerbench.record import write_atomically
from nerbench.trust import contended
from nerlib.cores import physical_cores

CPU_BF16_FLAGS = CPU_FEATURES["bf16"]


# The side of the large square product every CPU peak is also measured on.
SQUARE = 2048


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def best_rate(candidates: dict, flops: dict, repeats: int = 10) -> dict:
    """{"peak_flops", "by_candidate"}: the best sustained FLOP/s of each product, after a warm-up."""
    found = {}
    for name, product in candidates.items():
        product()
        found[name] = flops[name] / min(timed(product) for _ in range(repeats))
    return {"peak_flops": max(found.values()), "by_candidate": found}


def product_shapes(shape: dict, tokens: int = 2048, square: int = SQUARE) -> dict[str, tuple[int, int, int]]:
    """(m, k, n) of the products a peak is measured on: the model's largest (a batch of `tokens`
    tokens through the feed-forward layer) and a large square one."""
    return {"feed_forward": (tokens, shape["hidden"], shape["ffn"]), "square": (square, square, square)}


def onnx_session(node, inputs, output, initializers, threads: int):
    """A one-node ONNX graph in an ONNX Runtime session with the methods' thread settings."""
    import onnx
    import onnxruntime
    from onnx import helper

    graph = helper.make_graph([node], node.op_type, inputs, [output], initializers)
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    # IR version 10: what this ONNX Runtime reads (onnx 1.23 would write a newer one by default).
    model = helper.make_model(graph, opset_imports=opsets, ir_version=10)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return onnxruntime.InferenceSession(
        onnx.shape_inference.infer_shapes(model).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def cpu_fp32_peak(threads: int, shape: dict, square: int) -> dict:
    """The best fp32 product of the kernels the methods use: ONNX Runtime's MatMul (the ONNX
    methods'), torch's (baseline's), oneDNN's inner product (CTranslate2's, here as torch ships
    it) and numpy's BLAS, on the model's product and a square one."""
    import torch
    import torch.utils.mkldnn
    from onnx import TensorProto, helper, numpy_helper
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")  # numpy's pool is every core unless told
    candidates, flops = {}, {}
    rng = np.random.default_rng(0)
    for name, (m, k, n) in product_shapes(shape, square=square).items():
        a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        session = onnx_session(
            helper.make_node("MatMul", ["a", "b"], ["y"]),
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", k])],
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n]),
            [numpy_helper.from_array(b, "b")],
            threads,
        )
        candidates[f"onnxruntime {name}"] = lambda session=session, a=a: session.run(None, {"a": a})
        candidates[f"torch {name}"] = lambda ta=ta, tb=tb: torch.mm(ta, tb)
        candidates[f"numpy {name}"] = lambda a=a, b=b: a @ b
        if torch.backends.mkldnn.is_available():  # a torch built without oneDNN has none to offer
            linear = torch.nn.Linear(k, n, bias=False).requires_grad_(False)
            linear.weight.data = tb.T.contiguous()
            onednn, onednn_a = torch.utils.mkldnn.to_mkldnn(linear), ta.to_mkldnn()
            candidates[f"onednn {name}"] = lambda layer=onednn, a=onednn_a: layer(a)
        for kernel in ("onnxruntime", "torch", "onednn", "numpy"):
            flops[f"{kernel} {name}"] = 2 * m * k * n
    return best_rate(candidates, flops)


def cpu_int8_peak(threads: int, shape: dict, square: int) -> dict:
    """The best int8 product of ONNX Runtime's integer kernels: MatMulInteger (u8 × s8 -> s32) and
    DynamicQuantizeMatMul (fp32 in, its activations quantized per call: what dynamic int8 exports
    run after fusion), on the model's product and a square one."""
    from onnx import TensorProto, helper, numpy_helper

    candidates, flops = {}, {}
    rng = np.random.default_rng(2)
    for name, (m, k, n) in product_shapes(shape, square=square).items():
        weights = rng.integers(-127, 128, size=(k, n), dtype=np.int8)
        integer = onnx_session(
            helper.make_node("MatMulInteger", ["a", "b"], ["y"]),
            [helper.make_tensor_value_info("a", TensorProto.UINT8, ["m", k])],
            helper.make_tensor_value_info("y", TensorProto.INT32, ["m", n]),
            [numpy_helper.from_array(weights, "b")],
            threads,
        )
        dynamic = onnx_session(
            helper.make_node("DynamicQuantizeMatMul", ["a", "b", "scale"], ["y"], domain="com.microsoft"),
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", k])],
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n]),
            [numpy_helper.from_array(weights, "b"), numpy_helper.from_array(np.full(n, 0.01, np.float32), "scale")],
            threads,
        )
        a8 = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
        a32 = rng.standard_normal((m, k), dtype=np.float32)
        candidates[f"MatMulInteger {name}"] = lambda session=integer, a=a8: session.run(None, {"a": a})
        candidates[f"DynamicQuantizeMatMul {name}"] = lambda session=dynamic, a=a32: session.run(None, {"a": a})
        for kernel in ("MatMulInteger", "DynamicQuantizeMatMul"):
            flops[f"{kernel} {name}"] = 2 * m * k * n
    return {**best_rate(candidates, flops), "kernel": "onnxruntime integer products"}


def cpu_bf16_peak(threads: int, size: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    a, b = (torch.randn(size, size, dtype=torch.bfloat16) for _ in range(2))
    return best_rate({"torch": lambda: torch.mm(a, b)}, {"torch": 2 * size**3})


def gpu_peaks(size: int = 8192) -> dict:
    """fp32 (TF32 off, as the fp32 methods run), fp16 and bf16 products on the first GPU."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    peaks = {}
    for name, dtype in {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}.items():
        a, b = (torch.randn(size, size, dtype=dtype, device="cuda") for _ in range(2))

        def product(a=a, b=b):
            torch.mm(a, b)
            torch.cuda.synchronize()

        peaks[name] = {**best_rate({"torch": product}, {"torch": 2 * size**3}), "matrix_size": size}
    return {**peaks, "gpu": torch.cuda.get_device_name(0)}


# Operations a core can issue per cycle for each format, by what its instruction set gives, with
# two FMA units per core (an assumption: what these servers' cores have; /proc/cpuinfo cannot say).
# fp32: lanes × 2 (multiply and add) × 2 units; int8 with VNNI (vpdpbusd): 4 products per 32-bit
# lane; without it (vpmaddubsw + vpmaddwd) about twice fp32; bf16 (vdpbf16ps): 2 per lane; AMX tiles:
# 1024 bf16 or 2048 int8 multiply-adds per cycle.
FMA_UNITS = 2
# CPUs whose units are narrower than their widest instructions, by (vendor, family): AMD's family
# 25 (Zen 3, Zen 4) runs AVX-512 on 256-bit units, two cycles per instruction (Zen 5, family 26,
# has 512-bit units), so its peak per cycle is AVX2's.
NARROW_UNITS = {("AuthenticAMD", 25): 256}


def cpu_identity() -> tuple[str, int] | None:
    """(vendor, family) from /proc/cpuinfo, None where it does not say."""
    info = cpu_description()
    return (info["vendor"], int(info["family"])) if "vendor" in info and "family" in info else None


def vector_bits(flags: set[str], identity: tuple[str, int] | None) -> int:
    """The width the cores compute vectors at: their widest instructions', unless their units are narrower."""
    widest = 512 if "avx512f" in flags else 256 if "avx2" in flags else 128
    return min(widest, NARROW_UNITS.get(identity, widest))


def operations_per_cycle(flags: set[str], identity: tuple[str, int] | None = None) -> dict[str, int]:
    lanes = vector_bits(flags, identity) // 32
    fp32 = lanes * 2 * FMA_UNITS
    found = {"fp32": fp32, "int8": fp32 * (4 if flags & VNNI_FLAGS else 2)}
    if "avx512_bf16" in flags:
        found["bf16"] = fp32 * 2
    if "amx_bf16" in flags:
        found["bf16"] = 2 * 1024
    if "amx_int8" in flags:
        found["int8"] = 2 * 2048
    return found


def cpu_clock_hz() -> float | None:
    """The highest clock the kernel reports: cpufreq's maximum, else /proc/cpuinfo's current MHz."""
    maximum = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if maximum.is_file():
        return int(maximum.read_text()) * 1e3
    speeds = re.findall(r"^cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text(), re.M)
    return max(float(speed) for speed in speeds) * 1e6 if speeds else None


def theoretical_peaks(cores: int) -> dict:
    """cores × clock × operations per cycle, per format (see operations_per_cycle)."""
    clock = cpu_clock_hz()
    if clock is None:
        return {}
    return {
        name: {"peak_flops": cores * clock * per_cycle, "clock_hz": clock, "cores": cores, "per_cycle": per_cycle}
        for name, per_cycle in operations_per_cycle(cpu_flags(), cpu_identity()).items()
    }


def cpu_peaks(threads: int, shape: dict, square: int = SQUARE) -> dict:
    """`square`: the side of the large square product (smaller only where a test wants speed)."""
    cpu = {"fp32": cpu_fp32_peak(threads, shape, square), "int8": cpu_int8_peak(threads, shape, square)}
    flags = cpu_flags()
    if flags & CPU_BF16_FLAGS:
        cpu["bf16"] = cpu_bf16_peak(threads, square)
    theoretical = theoretical_peaks(threads)
    for name, peak in cpu.items():
        if name in theoretical:
            peak["theoretical"] = theoretical[name]
    bandwidth = memory_bandwidth(threads)
    return {**cpu, "threads": threads, "bf16_instructions": sorted(flags & CPU_BF16_FLAGS), **bandwidth}


# Each thread copies its own buffer this large, far past every cache: what reading a model's
# weights once per batch costs.
COPY_BYTES = 256 * 2**20


def memory_bandwidth(threads: int, repeats: int = 5) -> dict:
    """{"memory_bytes_per_second"}: the best of `repeats` copies, one buffer per thread, all at once
    (numpy releases the GIL while it copies); read and written bytes both count."""
    from concurrent.futures import ThreadPoolExecutor

    sources = [np.ones(COPY_BYTES // 8 // threads) for _ in range(threads)]
    targets = [np.empty_like(source) for source in sources]

    def copy_all():
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(np.copyto, targets, sources))

    copy_all()
    seconds = min(timed(copy_all) for _ in range(repeats))
    return {"memory_bytes_per_second": 2 * sum(source.nbytes for source in sources) / seconds}


def gpu_peaks_if_any() -> dict:
    import torch

    return {"cuda": gpu_peaks()} if torch.cuda.is_available() else {}


# Measurements of the peaks while the host stays contended, at most.
ATTEMPTS = 3


def best_of(first: dict, second: dict) -> dict:
    """Two measurements of the peaks as one: each product's best rate, each format's best product."""
    merged = {}
    for key, value in first.items():
        other = second.get(key)
        if isinstance(value, dict) and "by_candidate" in value and isinstance(other, dict):
            rates = {
                name: max(rate, other["by_candidate"].get(name, 0)) for name, rate in value["by_candidate"].items()
            }
            merged[key] = {**value, "by_candidate": rates, "peak_flops": max(rates.values())}
        elif isinstance(value, dict) and isinstance(other, dict):
            merged[key] = best_of(value, other)
        elif key == "memory_bytes_per_second" and other:
            merged[key] = max(value, other)
        else:
            merged[key] = value
    return merged


def measure_quietly(threads: int, shape: dict, square: int, quiet_start_s: float, quiet_share: float) -> dict:
    """The peaks, the CPU's measured again while the host was contended (ATTEMPTS measurements at
    most, their quiet starts sharing one wait of quiet_start_s), with each measurement's quiet
    start and host load; `contended`: every one of them was. The GPU's, once: the host's load
    says nothing of a GPU's."""
    # The kernels' libraries imported first: the host's load is then recorded over the products
    # alone, not diluted by seconds of imports.
    import onnx  # noqa: F401
    import onnxruntime  # noqa: F401
    import torch  # noqa: F401

    peaks, attempts, waited = None, [], 0.0
    for _ in range(ATTEMPTS):
        quiet = host_load.quiet_start(threads, quiet_share, max(0.0, quiet_start_s - waited))
        waited += quiet["waited_seconds"]
        with host_load.watched() as (speed, contention):
            measured = cpu_peaks(threads, shape, square)
        # The host's speed probed too: one more view of how fast this machine can be (the tables).
        attempts.append({"quiet_start": quiet, "contention": contention.record, "host_speed": speed.record})
        peaks = measured if peaks is None else best_of(peaks, measured)
        if not contended(contention.record):
            break
    all_contended = all(contended(attempt["contention"]) for attempt in attempts)
    return {"peaks": {"cpu": peaks, **gpu_peaks_if_any()}, "attempts": attempts, "contended": all_contended}


def peaks_main(args) -> None:
    threads = args.threads or physical_cores()
    shape = model_shape(json.loads((Path(args.model) / "config.json").read_text()))
    measured = measure_quietly(threads, shape, args.square, args.quiet_start_s, args.quiet_share)
    record = {"model_shape": shape, "square": args.square, **measured}
    write_atomically(args.out, json.dumps(record, indent=1) + "\n")
    loads = ", ".join(f"{a['contention'].get('foreign_cpu_pct', '?')}%" for a in measured["attempts"])
    print(
        f"other processes' share of the host while measuring: {loads}"
        + (" (contended)" if measured["contended"] else "")
    )
    for device, peaks in record["peaks"].items():
        for number_format, peak in peaks.items():
            if isinstance(peak, dict):
                print(f"{device} {number_format} peak: {peak['peak_flops'] / 1e9:.1f} GFLOP/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the ONNX model directory (its config.json gives the shapes)")
    parser.add_argument("--threads", type=int, required=True, help="0: physical cores")
    parser.add_argument("--square", type=int, default=SQUARE, help="the side of the square product (%(default)s)")
    parser.add_argument("--out", required=True)
    host_load.add_quiet_start_arguments(parser)
    peaks_main(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
