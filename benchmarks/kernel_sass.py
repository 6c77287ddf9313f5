"""The fused kernels compiled for a GPU without one: registers, spills, the inner loop's mix.

    python benchmarks/kernel_sass.py [--arch 90] [--k 100000]

Compiles every configuration of ``rdsc.fused``'s kernels for ``sm_<arch>`` with the
ptxas and nvdisasm that ship with Triton (no GPU, no driver), at the CIFAR-10 geometry
(K = 5), and prints per configuration: registers a thread, bytes spilled to the stack, and
for the depthwise kernel the instruction mix of its tap-row loop (the innermost loop):
instructions per multiply-add (FFMA) and loads. A static proxy, not a speed: it tells how
much work a configuration issues, not how well the GPU hides its latencies (autotuning on
the device decides). The last line is one JSON object.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import tempfile

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from rdsc import fused

TOOLS = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin")


def compile_kernel(fn, types: dict, constants: dict, aligned: list, arch: int, **options):
    """``fn`` compiled for ``sm_<arch>``; pointers and ``aligned`` integers divisible by 16, as
    Triton's launcher specialises them at run time (torch's buffers are aligned)."""
    names = [p.name for p in fn.params]
    signature = {n: types.get(n, "constexpr") for n in names}
    attrs = {(names.index(n),): [["tt.divisibility", 16]]
             for n in names if n in aligned or signature[n].startswith("*")}
    source = ASTSource(fn, signature, constexprs={(names.index(n),): v
                                                  for n, v in constants.items()}, attrs=attrs)
    return triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)


def _tool(name: str, *args: str) -> str:
    return subprocess.run([os.path.join(TOOLS, name), *args], capture_output=True, text=True,
                          check=True).stdout


def resources(kernel) -> dict:
    """Registers a thread, stack bytes (spills) and the SASS of a compiled kernel."""
    with tempfile.NamedTemporaryFile(suffix=".cubin", delete=False) as f:
        f.write(kernel.asm["cubin"])
    try:
        usage = _tool("cuobjdump", "--dump-resource-usage", f.name)
        sass = _tool("nvdisasm", "-c", f.name)
    finally:
        os.unlink(f.name)
    return dict(registers=int(re.search(r"REG:(\d+)", usage).group(1)),
                stack_bytes=int(re.search(r"STACK:(\d+)", usage).group(1)), sass=sass)


def innermost_loop(sass: str) -> collections.Counter:
    """Opcode counts of the shortest loop body (from a backward branch's target to it)."""
    address, labels, pending = [], {}, []
    for line in sass.splitlines():
        label = re.match(r"\s*\.(L_x_\d+):", line)
        if label:
            pending.append(label.group(1))
            continue
        instr = re.match(r"\s*/\*([0-9a-f]+)\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)(.*)", line)
        if instr:
            at = int(instr.group(1), 16)
            labels.update({name: at for name in pending})
            pending = []
            address.append((at, instr.group(2), instr.group(3)))
    bodies = []
    for at, op, rest in address:
        target = re.search(r"(L_x_\d+)", rest) if op == "BRA" else None
        if target and labels.get(target.group(1), at + 1) < at:
            start = labels[target.group(1)]
            bodies.append(collections.Counter(o for a, o, _ in address if start <= a <= at))
    return min(bodies, key=lambda c: sum(c.values())) if bodies else collections.Counter()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", type=int, default=90, help="compute capability x 10 (H100/H200: 90)")
    p.add_argument("--k", type=int, default=100_000)
    args = p.parse_args()
    if fused.triton is None or fused._INTERPRETED:
        raise SystemExit("needs Triton (and TRITON_INTERPRET unset)")
    ldk = -(-args.k // fused.N_ALIGN) * fused.N_ALIGN
    rows = []
    print(f"sm_{args.arch}, K = 5, ldk = {ldk}")
    first_types = dict(P="*bf16", Wm="*bf16", Q="*bf16", n_cells="i32", ldk="i32", KP="i32",
                       cells_img="i32", cells_w="i32", q_h="i32", q_w="i32")
    for n, kb, warps, stages in fused.FIRST_CONFIGS:
        kernel = compile_kernel(fused._first_layer_kernel, first_types,
                                dict(PAD=2, UPCAST=False, BLOCK_CELLS=fused.BLOCK_CELLS,
                                     BLOCK_N=n, BLOCK_K=kb, GROUP=8),
                                ["ldk", "KP"], args.arch, num_warps=warps, num_stages=stages)
        r = resources(kernel)
        rows.append(dict(kernel="first layer", config=[n, kb, warps, stages],
                         registers=r["registers"], stack_bytes=r["stack_bytes"]))
        print(f"first layer (BLOCK_N, BLOCK_K, warps, stages) = {(n, kb, warps, stages)}: "
              f"{r['registers']} registers, {r['stack_bytes']} stack bytes")
    dw_types = dict(X="*bf16", Wt="*fp32", Bias="*fp32", Y="*bf16", n_img="i32", ldk="i32",
                    k="i32", x_h="i32", x_w="i32", out_h="i32", out_w="i32", y_h="i32",
                    y_w="i32")
    for mode, name in ((fused.MAP, "map"), (fused.POOLED, "pooled"), (fused.COUNTS, "counts")):
        types = {**dw_types, "Y": "*i32"} if mode == fused.COUNTS else dw_types
        for bp, bc, wide, warps in fused.DEPTHWISE_CONFIGS:
            kernel = compile_kernel(fused._depthwise_kernel, types,
                                    dict(KS=5, PAD=2, MODE=mode, WIDE=wide, BLOCK_P=bp,
                                         BLOCK_C=bc), ["ldk"], args.arch, num_warps=warps)
            r = resources(kernel)
            loop = innermost_loop(r["sass"])
            per_fma = sum(loop.values()) / max(1, loop["FFMA"])
            rows.append(dict(kernel=f"depthwise {name}", config=[bp, bc, wide, warps],
                             registers=r["registers"], stack_bytes=r["stack_bytes"],
                             loop_instructions=sum(loop.values()), loop_ffma=loop["FFMA"],
                             loop_loads=loop["LDG"], instructions_per_ffma=per_fma))
            print(f"depthwise {name:6s} (BLOCK_P, BLOCK_C, WIDE, warps) = "
                  f"{(bp, bc, wide, warps)}: {r['registers']:3d} registers, "
                  f"{r['stack_bytes']:3d} stack bytes; tap-row loop {sum(loop.values())} "
                  f"instructions, {loop['FFMA']} FFMA ({per_fma:.2f} per FFMA), "
                  f"{loop['LDG']} loads")
    print(json.dumps(dict(arch=args.arch, ldk=ldk, kernels=rows)))


if __name__ == "__main__":
    main()
