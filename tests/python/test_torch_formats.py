"""quantd's 4-bit, ternary and 16-bit float targets against PyTorch.

PyTorch 1.13 has no 4-bit or FP8 tensors, but its observers and fake
quantization take any integer range, and its casts are IEEE's: per-group
INT4/UINT4 is per-channel quantization of the tensor regrouped to
[groups, group_size]; FLOAT16/BFLOAT16 targets are .to() casts; ternary is
BitNet b1.58's published formula.
"""

import unittest

import numpy as np
import torch
from torch.ao.quantization.observer import PerChannelMinMaxObserver

from quantd.v1 import quantd_pb2 as pb
from test_torch_parity import ServerTestCase, tensor_proto


def unpack_nibbles(data, count, signed):
    """Element 2i in the low nibble, 2i+1 in the high one (API.md)."""
    raw = np.frombuffer(data, np.uint8)
    codes = np.empty(raw.size * 2, np.int32)
    codes[0::2] = raw & 0x0F
    codes[1::2] = raw >> 4
    codes = codes[:count]
    return np.where(codes >= 8, codes - 16, codes) if signed else codes


class TorchFormatsTest(ServerTestCase):
    SEED = 4

    def test_uint4_per_group_equals_torch_per_channel_of_the_groups(self):
        rows, cols, group = 6, 256, 32
        x = (self.rng.standard_normal((rows, cols)) * 2 + 0.3).astype(np.float32)
        r = self.quantize(x, dtype=pb.DTYPE_UINT4, granularity=pb.GRANULARITY_PER_GROUP,
                          axis=1, group_size=group, return_dequantized=True)
        groups = torch.from_numpy(x.reshape(-1, group))
        observer = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.quint8,
                                            qscheme=torch.per_channel_affine, quant_min=0, quant_max=15)
        observer(groups)
        scale, zero_point = observer.calculate_qparams()
        np.testing.assert_array_equal(np.array(r.params.scales, np.float32), scale.numpy())
        np.testing.assert_array_equal(np.array(r.params.zero_points), zero_point.numpy())
        want = torch.fake_quantize_per_channel_affine(groups, scale, zero_point.int(), 0, 0, 15)
        got = np.frombuffer(r.dequantized.data, np.float32).reshape(-1, group)
        np.testing.assert_array_equal(got, want.numpy())
        codes = unpack_nibbles(r.output.data, rows * cols, signed=False).reshape(-1, group)
        want_codes = torch.clamp(torch.round(groups * (1.0 / scale[:, None])) + zero_point[:, None], 0, 15)
        np.testing.assert_array_equal(codes, want_codes.numpy().astype(np.int32))

    def test_int4_symmetric_per_group_on_the_first_axis(self):
        x = self.rng.standard_normal((64, 5)).astype(np.float32)
        r = self.quantize(x, dtype=pb.DTYPE_INT4, granularity=pb.GRANULARITY_PER_GROUP,
                          axis=0, group_size=16, return_dequantized=True)
        # Groups of 16 rows per column: scales in row-major [4, 5] order.
        blocks = torch.from_numpy(x.reshape(4, 16, 5).transpose(0, 2, 1).reshape(-1, 16).copy())
        amax = blocks.abs().amax(dim=1)
        np.testing.assert_array_equal(np.array(r.params.scales, np.float32), (amax / 7).numpy())
        want = torch.fake_quantize_per_channel_affine(blocks, amax / 7, torch.zeros(20, dtype=torch.int32),
                                                       0, -7, 7)
        got = np.frombuffer(r.dequantized.data, np.float32).reshape(4, 16, 5).transpose(0, 2, 1).reshape(-1, 16)
        np.testing.assert_array_equal(got, want.numpy())

    def test_float16_and_bfloat16_targets_are_torch_casts(self):
        x = (self.rng.standard_normal(4096) * 1000).astype(np.float32)
        x[:4] = [1e-8, -3e-6, 65000.0, 0.1]
        for dtype, torch_dtype in ((pb.DTYPE_FLOAT16, torch.float16), (pb.DTYPE_BFLOAT16, torch.bfloat16)):
            r = self.quantize(x, dtype=dtype)
            self.assertEqual(list(r.params.scales), [1.0])
            want = torch.from_numpy(x).to(torch_dtype).view(torch.int16).numpy().tobytes()
            self.assertEqual(r.output.data, want, pb.DType.Name(dtype))

    def test_ternary_is_bitnet_b158(self):
        w = (self.rng.standard_normal((32, 128)) * 0.05).astype(np.float32)
        r = self.quantize(w, dtype=pb.DTYPE_TERNARY, return_dequantized=True)
        t = torch.from_numpy(w)
        # BitNet b1.58 (Ma et al. 2024): scale = mean |W|; W' = RoundClip(W / scale, -1, 1) * scale.
        self.assertAlmostEqual(r.params.scales[0], t.abs().mean().item(), delta=1e-6 * t.abs().mean().item())
        scale = torch.tensor(r.params.scales[0], dtype=torch.float32)
        want = (t * (1.0 / scale)).round().clamp(-1, 1) * scale
        got = np.frombuffer(r.dequantized.data, np.float32).reshape(w.shape)
        np.testing.assert_array_equal(got, want.numpy())


if __name__ == "__main__":
    unittest.main()
