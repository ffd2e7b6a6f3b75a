#!/usr/bin/python3
"""Weight-only quantization of a PyTorch model through quantd.

Builds a small model (a linear embedding, one transformer encoder block and
a linear head; fixed seed, nothing downloaded), quantizes every weight
matrix of its state_dict remotely, loads the dequantized weights into a copy
of the model and runs both on the same input. Prints each matrix's SQNR (as
quantd measured it) and the relative error of the model's output. Vectors
(biases, LayerNorm) stay in float, as usual for weight-only quantization:
they are a small share of the bytes and the most sensitive.

    PYTHONPATH=build/python:client/python /usr/bin/python3 \\
        client/python/examples/quantize_state_dict.py --target 127.0.0.1:50051 --format nf4
"""

import argparse
import copy

import torch
from torch import nn

from quantd_client import Client

# int8 per output channel (the rows of a Linear weight); the 4-bit formats
# per group along the input features, as GPTQ/QLoRA-style checkpoints do.
FORMATS = {
    "int8": dict(dtype="int8", granularity="per_channel", axis=0),
    "int4": dict(dtype="int4", granularity="per_group", axis=-1),
    "nf4": dict(dtype="nf4", granularity="per_group", axis=-1),
}


def build_model(seed, features=32, width=64, classes=10):
    """The model, its matrices drawn from N(0, 1/fan_in): trained weights are
    close to normal, unlike torch's uniform initialisation (and NF4 is made
    for normal weights)."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(features, width),
        nn.TransformerEncoderLayer(width, nhead=4, dim_feedforward=2 * width, dropout=0.0,
                                   batch_first=True),
        nn.Linear(width, classes))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, p.shape[1] ** -0.5)
    return model.eval()


def quantize_state_dict(client, state_dict, options):
    """(dequantized state_dict, [(name, shape, SQNR dB)]): each weight matrix
    quantized and back. A checkpoint would store q.packed and q.params; here
    they go straight back through Dequantize."""
    out, report = {}, []
    for name, tensor in state_dict.items():
        if not tensor.is_floating_point() or tensor.dim() < 2:
            out[name] = tensor
            continue
        q = client.quantize(tensor, **options)
        out[name] = client.dequantize(q)
        report.append((name, tuple(tensor.shape), q.error.sqnr_db))
    return out, report


def relative_error(reference, other):
    return ((other - reference).norm() / reference.norm()).item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="127.0.0.1:50051", help="quantd's gRPC address")
    parser.add_argument("--format", choices=sorted(FORMATS), default="int8")
    parser.add_argument("--group_size", type=int, default=32, help="for int4 and nf4")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    options = dict(FORMATS[args.format])
    if options["granularity"] == "per_group":
        options["group_size"] = args.group_size
    model = build_model(args.seed)
    quantized = copy.deepcopy(model)
    with Client(args.target, timeout=60) as client:
        state_dict, report = quantize_state_dict(client, model.state_dict(), options)
    quantized.load_state_dict(state_dict)

    torch.manual_seed(args.seed + 1)
    x = torch.randn(4, 16, 32)  # (batch, sequence, features)
    with torch.no_grad():
        error = relative_error(model(x), quantized(x))

    print("format: %s" % ", ".join("%s=%s" % kv for kv in options.items()))
    print("%-40s %-12s %8s" % ("tensor", "shape", "SQNR dB"))
    for name, shape, sqnr in report:
        print("%-40s %-12s %8.2f" % (name, "x".join(map(str, shape)), sqnr))
    print("output relative error: %.6f" % error)
    return error


if __name__ == "__main__":
    main()
