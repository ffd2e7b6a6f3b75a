"""Float tensors between numpy or torch and quantd's Tensor message.

Inputs are numpy arrays (float32, float16, float64; anything np.asarray
turns into one of those) or torch tensors (float32, float16, bfloat16,
float64, on any device). torch is never imported here: a torch tensor can
only come from a program that has imported it already, so it is looked up in
sys.modules, and numpy-only users do not pay torch's start-up time.
"""

import sys
from dataclasses import dataclass

import numpy as np

from ._stubs import pb

_NUMPY_TO_DTYPE = {
    np.dtype(np.float32): pb.DTYPE_FLOAT32,
    np.dtype(np.float16): pb.DTYPE_FLOAT16,
    np.dtype(np.float64): pb.DTYPE_FLOAT64,
}
_DTYPE_TO_NUMPY = {
    pb.DTYPE_FLOAT32: np.dtype("<f4"),
    pb.DTYPE_FLOAT16: np.dtype("<f2"),
    pb.DTYPE_FLOAT64: np.dtype("<f8"),
}


def loaded_torch():
    """The torch module if the program has imported it, else None."""
    return sys.modules.get("torch")


def is_torch_tensor(x):
    torch = loaded_torch()
    return torch is not None and isinstance(x, torch.Tensor)


def import_torch(why):
    try:
        import torch
    except ImportError as e:
        raise ImportError("%s needs torch (Debian: python3-torch)" % why) from e
    return torch


@dataclass(frozen=True)
class Like:
    """What a result should look like: numpy or torch, and for torch the
    device (so torch in, torch out, on the same device)."""
    torch: bool = False
    device: object = None


NUMPY = Like()


def _torch_dtypes(torch):
    return {torch.float32: pb.DTYPE_FLOAT32, torch.float16: pb.DTYPE_FLOAT16,
            torch.bfloat16: pb.DTYPE_BFLOAT16, torch.float64: pb.DTYPE_FLOAT64}


def _from_torch(x, what):
    torch = loaded_torch()
    dtypes = _torch_dtypes(torch)
    if x.dtype not in dtypes:
        raise TypeError("%s must be float32, float16, bfloat16 or float64, not torch.%s" % (
            what, str(x.dtype).replace("torch.", "")))
    cpu = x.detach().to("cpu").contiguous()
    if x.dtype == torch.bfloat16:  # numpy has no bfloat16: its bits travel as int16.
        data = cpu.view(torch.int16).numpy().tobytes()
    else:
        data = cpu.numpy().astype(_DTYPE_TO_NUMPY[dtypes[x.dtype]], copy=False).tobytes()
    return pb.Tensor(dtype=dtypes[x.dtype], shape=list(x.shape), data=data), Like(True, x.device)


def to_proto(x, what="x"):
    """(Tensor message, Like) of a float numpy array or torch tensor."""
    if is_torch_tensor(x):
        return _from_torch(x, what)
    array = np.asarray(x)
    dtype = _NUMPY_TO_DTYPE.get(array.dtype.newbyteorder("="))
    if dtype is None:
        raise TypeError("%s must be float32, float16 or float64 (bfloat16 as a torch tensor), not %s"
                        % (what, array.dtype))
    data = np.ascontiguousarray(array, dtype=_DTYPE_TO_NUMPY[dtype]).tobytes()
    return pb.Tensor(dtype=dtype, shape=list(array.shape), data=data), NUMPY


def from_proto(tensor, like=NUMPY):
    """A float Tensor message as numpy (writable) or torch, as `like` says.
    BFLOAT16 always comes back as torch: numpy has no such type."""
    shape = [int(d) for d in tensor.shape]
    if tensor.dtype == pb.DTYPE_BFLOAT16:
        torch = import_torch("a bfloat16 result")
        bits = np.frombuffer(tensor.data, np.dtype("<i2")).reshape(shape).copy()
        out = torch.from_numpy(bits).view(torch.bfloat16)
        return out.to(like.device) if like.torch else out
    if tensor.dtype not in _DTYPE_TO_NUMPY:
        raise ValueError("the server returned a %s tensor where a float one was expected"
                         % pb.DType.Name(tensor.dtype))
    array = np.frombuffer(tensor.data, _DTYPE_TO_NUMPY[tensor.dtype]).reshape(shape).copy()
    if like.torch:
        return loaded_torch().from_numpy(array).to(like.device)
    return array


def codes_to_numpy(codes):
    """Unpacked codes held in a torch tensor, as numpy (bfloat16 target
    codes as their uint16 bits, as QuantizeResult.codes holds them)."""
    torch = loaded_torch()
    codes = codes.detach().to("cpu")
    if codes.dtype == torch.bfloat16:
        return codes.contiguous().view(torch.int16).numpy().view(np.uint16)
    return codes.numpy()
