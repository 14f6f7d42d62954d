#!/usr/bin/python3
"""Trains the pipeline's demo models and exports them as ONNX (fp32 and QDQ-quantized), reproducibly.

Models: an MLP and a CNN on Fashion-MNIST (Debian's dataset-fashion-mnist) and on the 8x8 digits set shipped with
Debian's python3-sklearn. PyTorch on the CPU (Debian's python3-torch). Only Debian's own /usr/bin/python3 sees
Debian's python packages, hence the shebang. Usage:

    /usr/bin/python3 tools/demo-models/train.py [--out models/] [--epochs N]

Writes <name>.onnx (fp32, opset 13) and <name>_qdq.onnx (static quantization in the ONNX QDQ format, as
onnxruntime's quantize_static writes it: per-channel int8 weights, u8 activations from the min/max of 512 training
images; PyTorch's own quantized export cannot express ReLU6 and Debian's torch lacks fbgemm) for name in
fmnist_mlp, fmnist_cnn, digits_mlp, digits_cnn, plus <name>.json with the test accuracy PyTorch measured, so the
ellesmere pipeline's fp32 accuracy can be checked against it. Inputs are pixel / 255 (Fashion-MNIST) or
pixel / 16 (digits), NCHW float32; outputs are logits (the MLPs end in Softmax, so probabilities).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402  (tools/demo-models/datasets.py: the same loaders the demo command uses)


class MLP(nn.Module):
    def __init__(self, inputs, hidden, classes):
        super().__init__()
        layers = []
        for h in hidden:
            layers += [nn.Linear(inputs, h), nn.ReLU()]
            inputs = h
        layers.append(nn.Linear(inputs, classes))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return torch.softmax(self.body(torch.flatten(x, 1)), dim=1)


class FmnistCNN(nn.Module):
    """Conv-BN-ReLU-pool twice, a residual 3x3 block, then two fully connected layers (Flatten, Dropout)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32))
        self.relu3 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Sequential(nn.Linear(32 * 7 * 7, 256), nn.ReLU())
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = self.relu3(x + self.conv3(x))
        x = self.fc2(self.drop(self.fc1(self.flatten(x))))
        return x


class DigitsCNN(nn.Module):
    """Conv-ReLU-pool, a conv with ReLU6 (ONNX Clip), GlobalAveragePool, one fully connected layer."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU6())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.gap(self.conv2(self.pool(self.conv1(x))))
        x = self.fc(x.reshape(-1, 32))
        return x


def train(model, x, y, epochs, batch, lr, seed):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt))
        total = 0.0
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            out = model(xt[idx])
            # The MLPs end in softmax: train them on its log.
            loss = loss_fn(torch.log(out + 1e-12) if isinstance(model, MLP) else out, yt[idx])
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / len(xt):.4f}", flush=True)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    return float((out.argmax(1).numpy() == y).mean())


def export(model, example, path):
    model.eval()
    torch.onnx.export(model, example, path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      # PRESERVE keeps BatchNormalization nodes (EVAL would fold them into the convolutions):
                      # folding them is the importer's job, and the demo models should exercise it.
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)


def calibrate_ranges(model, calib_x):
    """min/max of every Conv2d/Linear input over the calibration images, keyed by the module's path."""
    ranges, hooks = {}, []

    def hook(path):
        def fn(_module, inputs, _output):
            x = inputs[0].detach()
            lo, hi = float(x.min()), float(x.max())
            old = ranges.get(path)
            ranges[path] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)
        return fn

    for path, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            hooks.append(module.register_forward_hook(hook(path)))
    model.eval()
    with torch.no_grad():
        for i in range(0, len(calib_x), 256):
            model(torch.from_numpy(calib_x[i:i + 256]))
    for h in hooks:
        h.remove()
    return ranges


def u8_params(lo, hi):
    """ONNX DynamicQuantizeLinear's u8 parameters for [lo, hi] widened to contain 0."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero = int(np.clip(np.round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zero)


def weight_params(w):
    """Symmetric int8 per output channel (axis 0): scale = max|w| / 127."""
    flat = w.reshape(w.shape[0], -1)
    scale = np.maximum(np.abs(flat).max(axis=1), 1e-8) / 127.0
    q = np.clip(np.round(flat / scale[:, None]), -127, 127).astype(np.int8).reshape(w.shape)
    return q, scale.astype(np.float32)


def node_module_path(node):
    """The torch module path an exported node came from: "/conv1/conv1.0/Conv" -> "conv1.0"."""
    parts = node.name.strip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""


def export_qdq(model, fp32_path, qdq_path, calib_x):
    """Static quantization in the ONNX QDQ format (as onnxruntime's quantize_static writes it): every Conv and Gemm
    gets its input through QuantizeLinear(u8, calibrated min/max) -> DequantizeLinear, and its weight stored as
    int8 per output channel behind a DequantizeLinear(axis=0); biases stay fp32. Returns the torch accuracy helper's
    fake-quant forward (the same arithmetic, for cross-checking)."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto

    ranges = calibrate_ranges(model, calib_x)
    m = onnx.load(fp32_path)
    inits = {t.name: t for t in m.graph.initializer}
    new_nodes, new_inits = [], []
    for node in m.graph.node:
        if node.op_type in ("Conv", "Gemm"):
            path = node_module_path(node)
            if path not in ranges:
                raise SystemExit(f"{node.name}: no calibration range for module '{path}'")
            scale, zero = u8_params(*ranges[path])
            base = node.name.strip("/").replace("/", "_")
            x, w = node.input[0], node.input[1]
            new_inits += [numpy_helper.from_array(np.array(scale, np.float32), base + "_x_scale"),
                          numpy_helper.from_array(np.array(zero, np.uint8), base + "_x_zero_point")]
            new_nodes.append(helper.make_node("QuantizeLinear", [x, base + "_x_scale", base + "_x_zero_point"],
                                              [base + "_xq"], name=base + "_QuantizeLinear"))
            new_nodes.append(helper.make_node("DequantizeLinear", [base + "_xq", base + "_x_scale",
                                                                   base + "_x_zero_point"],
                                              [base + "_xdq"], name=base + "_DequantizeLinear"))
            wq, wscale = weight_params(numpy_helper.to_array(inits[w]))
            new_inits += [numpy_helper.from_array(wq, w + "_quantized"),
                          numpy_helper.from_array(wscale, w + "_scale"),
                          numpy_helper.from_array(np.zeros(len(wscale), np.int8), w + "_zero_point")]
            new_nodes.append(helper.make_node("DequantizeLinear", [w + "_quantized", w + "_scale",
                                                                   w + "_zero_point"],
                                              [w + "_dq"], name=base + "_weight_DequantizeLinear", axis=0))
            node.input[0] = base + "_xdq"
            node.input[1] = w + "_dq"
        new_nodes.append(node)
    # The fp32 weights are no longer used: drop them.
    used = {i for n in new_nodes for i in n.input}
    del m.graph.node[:]
    m.graph.node.extend(new_nodes)
    kept = [t for t in list(m.graph.initializer) + new_inits if t.name in used]
    del m.graph.initializer[:]
    m.graph.initializer.extend(kept)
    onnx.checker.check_model(m)
    onnx.save(m, qdq_path)
    return ranges


def fake_quant_accuracy(model, ranges, x, y):
    """Accuracy of the QDQ arithmetic in torch: inputs of every Conv/Linear rounded to their u8 grid, weights to
    their per-channel int8 grid (what ellesmere's QDQ execution should reproduce up to float summation order)."""
    import copy
    q = copy.deepcopy(model).eval()
    hooks = []
    for path, module in q.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            wq, wscale = weight_params(module.weight.detach().numpy())
            shape = (-1,) + (1,) * (module.weight.dim() - 1)
            module.weight.data = torch.from_numpy(wq.astype(np.float32)) * torch.from_numpy(wscale).reshape(shape)
            scale, zero = u8_params(*ranges[path])

            def pre(_m, inputs, scale=float(scale), zero=int(zero)):
                return (torch.fake_quantize_per_tensor_affine(inputs[0], scale, zero, 0, 255),)
            hooks.append(module.register_forward_pre_hook(pre))
    acc = accuracy(q, x, y)
    for h in hooks:
        h.remove()
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                  "examples", "models"))
    ap.add_argument("--epochs", type=int, default=0, help="override every model's epoch count")
    ap.add_argument("--only", default="", help="comma-separated model names")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    fm_train_x, fm_train_y = datasets.fashion_mnist("train")
    fm_test_x, fm_test_y = datasets.fashion_mnist("test")
    dg_train_x, dg_train_y, dg_test_x, dg_test_y = datasets.digits_split()

    specs = [
        ("fmnist_mlp", lambda: MLP(784, [256, 128], 10), fm_train_x, fm_train_y, fm_test_x, fm_test_y, 5, 128, 1e-3,
         None),
        ("fmnist_cnn", FmnistCNN, fm_train_x, fm_train_y, fm_test_x, fm_test_y, 4, 128, 1e-3, None),
        ("digits_mlp", lambda: MLP(64, [64, 32], 10), dg_train_x, dg_train_y, dg_test_x, dg_test_y, 60, 32, 2e-3,
         None),
        ("digits_cnn", DigitsCNN, dg_train_x, dg_train_y, dg_test_x, dg_test_y, 60, 32, 2e-3, None),
    ]
    only = set(filter(None, args.only.split(",")))
    for seed, (name, make, trx, try_, tex, tey, epochs, batch, lr, fuse) in enumerate(specs):
        if only and name not in only:
            continue
        epochs = args.epochs or epochs
        print(f"{name}: training {epochs} epochs on {len(trx)} images", flush=True)
        torch.manual_seed(1000 + seed)
        model = make()
        train(model, trx, try_, epochs, batch, lr, 1000 + seed)
        acc = accuracy(model, tex, tey)
        print(f"{name}: fp32 test accuracy {acc:.4f}", flush=True)
        example = torch.from_numpy(tex[:2])
        export(model, example, os.path.join(args.out, f"{name}.onnx"))

        ranges = export_qdq(model, os.path.join(args.out, f"{name}.onnx"), os.path.join(args.out, f"{name}_qdq.onnx"),
                            trx[:512])
        qacc = fake_quant_accuracy(model, ranges, tex, tey)
        print(f"{name}: QDQ (fake-quant in PyTorch) test accuracy {qacc:.4f}", flush=True)
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            json.dump({"model": name, "test_images": len(tex), "fp32_accuracy": acc, "qdq_accuracy_pytorch_fake_quant": qacc,
                       "epochs": epochs, "torch": torch.__version__}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
