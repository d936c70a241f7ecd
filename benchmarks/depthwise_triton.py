"""A Triton kernel for the image tower's depthwise k x k convolutions on channels-last input
(benchmarks/gpu_torch.py --variants triton).

On the H200 cuDNN's channels-last depthwise 7x7 kernel took 15.7 ms of the compiled tower's 61 ms
(batch 384), far from the memory bound of those 45 layers (~2-3 ms), and the three 7x7 stride-2
downsampling convolutions (one input channel to two outputs: grouped, not depthwise, for cuDNN) took
7 ms with their layout transforms. One kernel covers both: 'same' padding (k // 2), stride 1 or 2,
`MULT` outputs per input channel (output channel c reads input channel c // MULT, as PyTorch's
groups = in_channels does). Each program computes a (BLOCK_W x BLOCK_C) tile of one output row:
for each of the k² taps it loads a run of channels (coalesced in NHWC) and multiply-adds with the
tap's per-channel weights, in fp32. Registered as a torch custom op so that `torch.compile` keeps it
as one call.

Measured on the H200 (session 7, docs/BENCHMARKS.md): 29.0 ms for its 48 convolutions against
cuDNN's 22.9 ms for the same layers with their layout transforms, so the tower got slower. It reloads
every tap's inputs through L1/L2; beating cuDNN needs an input tile staged once in shared memory.

Check it without a GPU: `TRITON_INTERPRET=1 python benchmarks/depthwise_triton.py` runs the kernel
in Triton's interpreter on the CPU and compares it with `nn.Conv2d`.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _depthwise_nhwc(x, weight, bias, out, H, W, C_IN, HO, WO, C_OUT, K: tl.constexpr, STRIDE: tl.constexpr,
                    MULT: tl.constexpr, HAS_BIAS: tl.constexpr, BLOCK_W: tl.constexpr,
                    BLOCK_C: tl.constexpr):  # fmt: skip
    row = tl.program_id(0)  # n * HO + output row
    n, ho = row // HO, row % HO
    wos = tl.program_id(1) * BLOCK_W + tl.arange(0, BLOCK_W)
    cos = tl.program_id(2) * BLOCK_C + tl.arange(0, BLOCK_C)
    c_ok = cos < C_OUT
    cins = cos // MULT
    acc = tl.zeros((BLOCK_W, BLOCK_C), dtype=tl.float32)
    pad = K // 2
    for i in tl.static_range(K):
        hi = ho * STRIDE + i - pad
        h_ok = (hi >= 0) & (hi < H)
        for j in tl.static_range(K):
            wi = wos * STRIDE + j - pad
            ok = h_ok & (wi >= 0)[:, None] & (wi < W)[:, None] & c_ok[None, :]
            pixels = tl.load(x + ((n * H + hi) * W + wi)[:, None] * C_IN + cins[None, :], mask=ok, other=0.0)
            taps = tl.load(weight + (i * K + j) * C_OUT + cos, mask=c_ok, other=0.0)
            acc += pixels.to(tl.float32) * taps.to(tl.float32)[None, :]
    if HAS_BIAS:
        acc += tl.load(bias + cos, mask=c_ok, other=0.0).to(tl.float32)[None, :]
    done = (wos < WO)[:, None] & c_ok[None, :]
    offsets = ((n * HO + ho) * WO + wos)[:, None] * C_OUT + cos[None, :]
    tl.store(out + offsets, acc.to(out.dtype.element_ty), mask=done)


# Tile shapes tried once per layer shape on the GPU; Triton's CPU interpreter cannot time them.
_TUNED = triton.autotune(
    configs=[
        triton.Config({"BLOCK_W": w, "BLOCK_C": c}, num_warps=warps)
        for w, c, warps in ((8, 64, 4), (16, 64, 4), (16, 32, 4), (32, 32, 4), (8, 128, 4), (16, 128, 8))
    ],
    key=["C_IN", "C_OUT", "H", "W", "K", "STRIDE"],
)(_depthwise_nhwc)


@torch.library.custom_op("pixseek_bench::depthwise_nhwc", mutates_args=())
def depthwise_nhwc(
    x: torch.Tensor, weight_kkc: torch.Tensor, bias: torch.Tensor | None, stride: int
) -> torch.Tensor:
    """x (N, C_in, H, W) channels-last; weight_kkc (K, K, C_out) contiguous, C_out a multiple of
    C_in; 'same' padding (K // 2), stride 1 or 2."""
    n, c_in, h, w = x.shape
    k, c_out = weight_kkc.shape[0], weight_kkc.shape[2]
    ho, wo = _output_size(h, k, stride), _output_size(w, k, stride)
    x = x.contiguous(memory_format=torch.channels_last)
    out = torch.empty((n, c_out, ho, wo), device=x.device, dtype=x.dtype, memory_format=torch.channels_last)

    def grid(meta: dict[str, int]) -> tuple[int, int, int]:
        return (n * ho, triton.cdiv(wo, meta["BLOCK_W"]), triton.cdiv(c_out, meta["BLOCK_C"]))

    args = (x, weight_kkc, bias if bias is not None else weight_kkc, out, h, w, c_in, ho, wo, c_out)
    constants = {"K": k, "STRIDE": stride, "MULT": c_out // c_in, "HAS_BIAS": bias is not None}
    if x.is_cuda:
        _TUNED[grid](*args, **constants)
    else:
        _depthwise_nhwc[grid](*args, **constants, BLOCK_W=16, BLOCK_C=64)
    return out


@depthwise_nhwc.register_fake
def _(x: torch.Tensor, weight_kkc: torch.Tensor, bias: torch.Tensor | None, stride: int) -> torch.Tensor:
    n, _, h, w = x.shape
    k, c_out = weight_kkc.shape[0], weight_kkc.shape[2]
    shape = (n, c_out, _output_size(h, k, stride), _output_size(w, k, stride))
    return torch.empty(shape, device=x.device, dtype=x.dtype, memory_format=torch.channels_last)


def _output_size(size: int, k: int, stride: int) -> int:
    return (size + 2 * (k // 2) - k) // stride + 1


def is_depthwise_like(conv: torch.nn.Module, min_kernel: int = 1) -> bool:
    """A convolution the kernel computes: one input channel per group, square odd kernel of
    `min_kernel` and up, 'same' padding, stride 1 or 2, no dilation."""
    if not isinstance(conv, torch.nn.Conv2d):
        return False
    k = conv.kernel_size[0]
    return (conv.groups == conv.in_channels and conv.out_channels % conv.in_channels == 0
            and conv.kernel_size == (k, k) and k % 2 == 1 and k >= min_kernel
            and conv.padding == (k // 2, k // 2) and conv.stride in ((1, 1), (2, 2))
            and conv.dilation == (1, 1) and conv.padding_mode == "zeros")  # fmt: skip


class TritonDepthwise(torch.nn.Module):
    """Drop-in for a convolution for which `is_depthwise_like` holds."""

    def __init__(self, conv: torch.nn.Conv2d) -> None:
        super().__init__()
        self.stride = int(conv.stride[0])
        self.register_buffer("weight_kkc", conv.weight.detach()[:, 0].permute(1, 2, 0).contiguous())
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return depthwise_nhwc(x, self.weight_kkc, self.bias, self.stride)


def _check() -> None:
    """Kernel against nn.Conv2d at the tower's shapes (small batch), fp32 on the CPU interpreter or
    fp16 on a GPU."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    torch.manual_seed(0)
    shapes = ((80, 1, 7, 16, 1, False), (160, 1, 7, 9, 1, True), (640, 1, 7, 8, 1, False),
              (80, 1, 3, 16, 1, True), (80, 2, 7, 16, 2, True), (160, 2, 7, 9, 2, True),
              (80, 1, 3, 15, 2, True), (640, 2, 3, 8, 1, True))  # fmt: skip
    for channels, mult, k, side, stride, bias in shapes:
        conv = torch.nn.Conv2d(channels, channels * mult, k, stride, k // 2, groups=channels, bias=bias)
        conv = conv.to(device, dtype)
        assert is_depthwise_like(conv)
        x = torch.randn(2, channels, side, side, device=device, dtype=dtype)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            expected = conv(x)
            found = TritonDepthwise(conv).to(device)(x)
        error = (found.float() - expected.float()).abs().max().item()
        print(f"C {channels}x{mult} k {k} side {side} stride {stride} bias {bias}: max abs error "
              f"{error:.2e}", flush=True)  # fmt: skip
        assert error < (2e-2 if dtype == torch.float16 else 1e-4), error


if __name__ == "__main__":
    _check()
