"""LeNet on MNIST in Python, shaped like Mocha's examples/mnist/mnist.jl.

Prepare the data first (`graphnet data mnist`), then: python examples/mnist.py [MAX_ITER]
It builds the same nets with the same recipe as `graphnet solve netdefs/mnist.yaml`.
"""

import sys

from graphnet import Net
from graphnet.coffee import Snapshot, TrainingSummary, ValidationPerformance
from graphnet.layers import Accuracy, Convolution, HDF5Data, InnerProduct, Pooling, SoftmaxLoss
from graphnet.solver import Solver


def lenet(train_source="data/mnist/train.txt", test_source="data/mnist/test.txt", max_iter=10000):
    data_layer = HDF5Data(name="mnist", tops=["data", "label"], source=train_source,
                          batch_size=64, shuffle=True, scale=0.00390625)   # the bytes 0-255 to [0, 1)
    conv1 = Convolution(name="conv1", bottoms=["data"], tops=["conv1"], n_filter=20, kernel=5)
    pool1 = Pooling(name="pool1", bottoms=["conv1"], tops=["pool1"], pool="max", kernel=2, stride=2)
    conv2 = Convolution(name="conv2", bottoms=["pool1"], tops=["conv2"], n_filter=50, kernel=5)
    pool2 = Pooling(name="pool2", bottoms=["conv2"], tops=["pool2"], pool="max", kernel=2, stride=2)
    ip1 = InnerProduct(name="ip1", bottoms=["pool2"], tops=["ip1"], output_dim=500, neuron="relu")
    ip2 = InnerProduct(name="ip2", bottoms=["ip1"], tops=["ip2"], output_dim=10)
    loss = SoftmaxLoss(name="loss", bottoms=["ip2", "label"])
    common = [conv1, pool1, conv2, pool2, ip1, ip2, loss]

    train_net = Net("mnist", [data_layer, *common], seed=1)
    test_data = HDF5Data(name="mnist", tops=["data", "label"], source=test_source, batch_size=100,
                         scale=0.00390625)
    accuracy = Accuracy(name="accuracy", bottoms=["ip2", "label"])
    test_net = Net("mnist", [test_data, *common, accuracy], phase="test", share_with=train_net, seed=1)

    solver = Solver("sgd", lr_policy={"type": "inv", "base_lr": 0.01, "gamma": 1e-4, "power": 0.75},
                    momentum=0.9, weight_decay=5e-4, max_iter=max_iter, run_dir="snapshots/mnist_python")
    solver.add_coffee_break(TrainingSummary(), every_n_iter=100)
    solver.add_coffee_break(ValidationPerformance(net=test_net), every_n_iter=1000)
    solver.add_coffee_break(Snapshot(), every_n_iter=5000)
    return train_net, test_net, solver


if __name__ == "__main__":
    train_net, test_net, solver = lenet(max_iter=int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    solver.solve(train_net)
