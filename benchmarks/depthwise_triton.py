"""A Triton kernel for the image tower's depthwise k x k, stride-1 convolutions on channels-last
input (benchmarks/gpu_torch.py --triton-depthwise).

On the H200 cuDNN's channels-last depthwise 7x7 kernel took 15.7 ms of the compiled tower's 61 ms
(batch 384): far from the memory bound of those 45 layers (~2-3 ms). Each program here computes a
(BLOCK_W x BLOCK_C) tile of one output row: for each of the k² taps it loads a contiguous run of
channels (coalesced in NHWC) and multiply-adds with the tap's per-channel weights, in fp32.
Registered as a torch custom op so that `torch.compile` keeps it as one call.

Check it without a GPU: `TRITON_INTERPRET=1 python benchmarks/depthwise_triton.py` runs the kernel
in Triton's interpreter on the CPU and compares it with `F.conv2d`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import triton
import triton.language as tl


@triton.jit
def _depthwise_nhwc(x, weight, bias, out, H, W, C, K: tl.constexpr, HAS_BIAS: tl.constexpr,
                    BLOCK_W: tl.constexpr, BLOCK_C: tl.constexpr):  # fmt: skip
    row = tl.program_id(0)  # n * H + h
    n, h = row // H, row % H
    ws = tl.program_id(1) * BLOCK_W + tl.arange(0, BLOCK_W)
    cs = tl.program_id(2) * BLOCK_C + tl.arange(0, BLOCK_C)
    c_ok = cs < C
    acc = tl.zeros((BLOCK_W, BLOCK_C), dtype=tl.float32)
    pad = K // 2
    for i in tl.static_range(K):
        hi = h + i - pad
        h_ok = (hi >= 0) & (hi < H)
        for j in tl.static_range(K):
            wi = ws + j - pad
            ok = h_ok & (wi >= 0)[:, None] & (wi < W)[:, None] & c_ok[None, :]
            pixels = tl.load(x + ((n * H + hi) * W + wi)[:, None] * C + cs[None, :], mask=ok, other=0.0)
            taps = tl.load(weight + (i * K + j) * C + cs, mask=c_ok, other=0.0)
            acc += pixels.to(tl.float32) * taps.to(tl.float32)[None, :]
    if HAS_BIAS:
        acc += tl.load(bias + cs, mask=c_ok, other=0.0).to(tl.float32)[None, :]
    done = (ws < W)[:, None] & c_ok[None, :]
    tl.store(out + ((n * H + h) * W + ws)[:, None] * C + cs[None, :], acc.to(out.dtype.element_ty), mask=done)


# Tile shapes tried once per layer shape on the GPU; Triton's CPU interpreter cannot time them.
_TUNED = triton.autotune(
    configs=[
        triton.Config({"BLOCK_W": w, "BLOCK_C": c}, num_warps=warps)
        for w, c, warps in ((8, 64, 4), (16, 64, 4), (16, 32, 4), (32, 32, 4), (8, 128, 4), (16, 128, 8))
    ],
    key=["C", "H", "W", "K"],
)(_depthwise_nhwc)


@torch.library.custom_op("pixseek_bench::depthwise_nhwc", mutates_args=())
def depthwise_nhwc(x: torch.Tensor, weight_kkc: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (N, C, H, W) channels-last; weight_kkc (K, K, C) contiguous; 'same' padding, stride 1."""
    n, c, h, w = x.shape
    k = weight_kkc.shape[0]
    x = x.contiguous(memory_format=torch.channels_last)
    out = torch.empty_like(x)  # channels-last like x

    def grid(meta: dict[str, int]) -> tuple[int, int, int]:
        return (n * h, triton.cdiv(w, meta["BLOCK_W"]), triton.cdiv(c, meta["BLOCK_C"]))

    args = (x, weight_kkc, bias if bias is not None else weight_kkc, out, h, w, c)
    if x.is_cuda:
        _TUNED[grid](*args, K=k, HAS_BIAS=bias is not None)
    else:
        _depthwise_nhwc[grid](*args, K=k, HAS_BIAS=bias is not None, BLOCK_W=16, BLOCK_C=64)
    return out


@depthwise_nhwc.register_fake
def _(x: torch.Tensor, weight_kkc: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return torch.empty_like(x, memory_format=torch.channels_last)


class TritonDepthwise(torch.nn.Module):
    """Drop-in for a depthwise k x k, stride-1, 'same'-padded `nn.Conv2d`."""

    def __init__(self, conv: torch.nn.Conv2d) -> None:
        super().__init__()
        self.register_buffer("weight_kkc", conv.weight.detach()[:, 0].permute(1, 2, 0).contiguous())
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return depthwise_nhwc(x, self.weight_kkc, self.bias)


def _check() -> None:
    """Kernel against F.conv2d at the tower's shapes (small batch), fp32 on the CPU interpreter or
    fp16 on a GPU."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    torch.manual_seed(0)
    for channels, side, bias in ((80, 16, False), (160, 9, True), (640, 8, False)):
        conv = torch.nn.Conv2d(channels, channels, 7, padding=3, groups=channels, bias=bias)
        conv = conv.to(device, dtype)
        x = torch.randn(2, channels, side, side, device=device, dtype=dtype)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            expected = F.conv2d(x, conv.weight, conv.bias, padding=3, groups=channels)
            found = TritonDepthwise(conv).to(device)(x)
        error = (found.float() - expected.float()).abs().max().item()
        print(f"C {channels} side {side} bias {bias}: max abs error {error:.2e}", flush=True)
        assert error < (2e-2 if dtype == torch.float16 else 1e-4), error


if __name__ == "__main__":
    _check()
