"""Full-profile accuracy of the SOLUTION's NumPy MLP on the full Fashion-MNIST test set.

Loads the modules by executing the solution notebook's definition cells, trains
on the full 60k training images minus a 6k validation split (float32, plain
SGD with per-epoch learning-rate decay and L2 weight decay), then reports the
test accuracy once. Target: >= 88.5 % (Fashion-MNIST's benchmark MLP
256-128-100 reports 88.33 %).

    python benchmarks/mlp_accuracy.py [--epochs 30] [--hidden 512 256] [--seed 0]
"""
import argparse
import os
import sys
import time

import matplotlib
import numpy as np

matplotlib.use("Agg")
os.environ["COURSE_PROFILE"] = "full"
sys.path.insert(0, os.path.dirname(__file__))

from mlp_throughput import load_solution  # noqa: E402

from course_utils.data import (fit_normalizer, flatten_images, iterate_minibatches,  # noqa: E402
                               load_fashion_mnist, normalize, scale_pixels, train_val_split)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, nargs="*", default=[512, 256])
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--lr-decay", type=float, default=0.93)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--init-std", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ns = load_solution()
    data = load_fashion_mnist("full")
    x = flatten_images(scale_pixels(data.x_train, np.float32))
    x_tr, y_tr, x_val, y_val = train_val_split(x, data.y_train, 6000, seed=args.seed)
    mean, std = fit_normalizer(x_tr)
    x_tr, x_val = normalize(x_tr, mean, std), normalize(x_val, mean, std)
    x_test = normalize(flatten_images(scale_pixels(data.x_test, np.float32)), mean, std)
    rng = np.random.default_rng(args.seed)
    mlp = ns["MLP"](784, args.hidden, 10, rng, init_std=args.init_std)
    for layer in mlp.layers:
        for k in layer.params:
            layer.params[k] = layer.params[k].astype(np.float32)

    def accuracy(xs, ys):
        mlp.eval()
        return float(np.mean(np.argmax(mlp.forward(xs), axis=1) == ys))

    start = time.perf_counter()
    for epoch in range(args.epochs):
        mlp.train()
        lr = args.lr * args.lr_decay ** epoch
        for xb, yb in iterate_minibatches(x_tr, y_tr, args.batch_size, seed=rng):
            ns["train_step"](mlp, xb, yb, lr, args.weight_decay)
        print(f"epoch {epoch + 1:2d}: validation accuracy {accuracy(x_val, y_val):.4f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"MLP 784-{'-'.join(map(str, args.hidden))}-10, {args.epochs} epochs, "
          f"{time.perf_counter() - start:.0f} s: TEST accuracy {accuracy(x_test, data.y_test):.4f} "
          f"on {len(data.y_test)} images")


if __name__ == "__main__":
    main()
