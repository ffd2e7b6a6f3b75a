"""Tensors given as codes with their params, and QuantizedMatMul's operands,
as Tensor messages.

An operand is a float numpy array or torch tensor (quantized by the server
on the fly), or codes with params: unpacked codes as QuantizeResult.codes
holds them (numpy or torch), a QuantizeResult (its params unless others are
given), or a packed quantd.v1.Tensor.
"""

import numpy as np

from . import packing
from ._stubs import pb
from .params import params_proto
from .results import QuantizeResult
from .tensors import NUMPY, Like, codes_to_numpy, is_torch_tensor, to_proto


def codes_proto(codes, params):
    """(Tensor message, Like) of unpacked codes (numpy or torch) of params'
    dtype, packed as the wire wants them."""
    dtype = params_proto(params).dtype
    like = NUMPY
    if is_torch_tensor(codes):
        like = Like(True, codes.device)
        codes = codes_to_numpy(codes)
    array = np.asarray(codes)
    return pb.Tensor(dtype=dtype, shape=list(array.shape), data=packing.pack(array, dtype)), like


def operand_proto(x, params, what):
    """(Tensor message, QuantParams message or None, Like) of one matmul
    operand; `what` names it in errors ("a", "b")."""
    if isinstance(x, QuantizeResult):
        return x.tensor_proto(), params_proto(x.params if params is None else params), x.like
    if params is None:
        if isinstance(x, pb.Tensor):
            raise TypeError("%s as a quantd.v1.Tensor needs %s_params" % (what, what))
        tensor, like = to_proto(x, what)
        return tensor, None, like
    if isinstance(x, pb.Tensor):
        return x, params_proto(params), NUMPY
    tensor, like = codes_proto(x, params)
    return tensor, params_proto(params), like
