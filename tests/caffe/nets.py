"""Nets and solvers written in Caffe's prototxt syntax for the import tests: the maths of
Caffe's LeNet, CIFAR-10 quick, an AlexNet-like net, an Inception block and a residual block,
in the modern format and (upgraded by hand, as old files are written) in V1."""

LENET = """
name: "LeNet"
layer {
  name: "mnist"
  type: "Data"
  top: "data"
  top: "label"
  include { phase: TRAIN }
  transform_param { scale: 0.00390625 }
  data_param { source: "examples/mnist/mnist_train_lmdb"  batch_size: 64  backend: LMDB }
}
layer {
  name: "mnist"
  type: "Data"
  top: "data"
  top: "label"
  include { phase: TEST }
  transform_param { scale: 0.00390625 }
  data_param { source: "examples/mnist/mnist_test_lmdb"  batch_size: 100  backend: LMDB }
}
layer {
  name: "conv1"
  type: "Convolution"
  bottom: "data"
  top: "conv1"
  param { lr_mult: 1 }
  param { lr_mult: 2 }
  convolution_param {
    num_output: 20
    kernel_size: 5
    stride: 1
    weight_filler { type: "xavier" }
    bias_filler { type: "constant" }
  }
}
layer {
  name: "pool1"
  type: "Pooling"
  bottom: "conv1"
  top: "pool1"
  pooling_param { pool: MAX  kernel_size: 2  stride: 2 }
}
layer {
  name: "conv2"
  type: "Convolution"
  bottom: "pool1"
  top: "conv2"
  param { lr_mult: 1 }
  param { lr_mult: 2 }
  convolution_param {
    num_output: 50
    kernel_size: 5
    stride: 1
    weight_filler { type: "xavier" }
    bias_filler { type: "constant" }
  }
}
layer {
  name: "pool2"
  type: "Pooling"
  bottom: "conv2"
  top: "pool2"
  pooling_param { pool: MAX  kernel_size: 2  stride: 2 }
}
layer {
  name: "ip1"
  type: "InnerProduct"
  bottom: "pool2"
  top: "ip1"
  param { lr_mult: 1 }
  param { lr_mult: 2 }
  inner_product_param {
    num_output: 500
    weight_filler { type: "xavier" }
    bias_filler { type: "constant" }
  }
}
layer {
  name: "relu1"
  type: "ReLU"
  bottom: "ip1"
  top: "ip1"
}
layer {
  name: "ip2"
  type: "InnerProduct"
  bottom: "ip1"
  top: "ip2"
  param { lr_mult: 1 }
  param { lr_mult: 2 }
  inner_product_param {
    num_output: 10
    weight_filler { type: "xavier" }
    bias_filler { type: "constant" }
  }
}
layer {
  name: "accuracy"
  type: "Accuracy"
  bottom: "ip2"
  bottom: "label"
  top: "accuracy"
  include { phase: TEST }
}
layer {
  name: "loss"
  type: "SoftmaxWithLoss"
  bottom: "ip2"
  bottom: "label"
  top: "loss"
}
"""

LENET_SOLVER = """
# The train/test net protocol buffer definition
net: "examples/mnist/lenet_train_test.prototxt"
test_iter: 100
test_interval: 500
base_lr: 0.01
momentum: 0.9
weight_decay: 0.0005
lr_policy: "inv"
gamma: 0.0001
power: 0.75
display: 100
max_iter: 10000
snapshot: 5000
snapshot_prefix: "examples/mnist/lenet"
solver_mode: GPU
"""

# V1, with tabs, a comment after a value, blobs_lr/weight_decay, and `key: { }` with the colon.
LENET_V1 = """
name: "LeNet"
input: "data"
input_dim: 64
input_dim: 1
input_dim: 28
input_dim: 28
layers {
\tname: "conv1"   type: CONVOLUTION   bottom: "data"   top: "conv1"
\tblobs_lr: 1   blobs_lr: 2   # the bias learns twice as fast
\tconvolution_param: { num_output: 20 kernel_size: 5 stride: 1
\t\tweight_filler { type: "xavier" } bias_filler { type: "constant" } }
}
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "conv2" type: CONVOLUTION bottom: "pool1" top: "conv2" blobs_lr: 1 blobs_lr: 2
  convolution_param { num_output: 50 kernel_size: 5 stride: 1 weight_filler { type: "xavier" } } }
layers { name: "pool2" type: POOLING bottom: "conv2" top: "pool2"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "ip1" type: INNER_PRODUCT bottom: "pool2" top: "ip1" blobs_lr: 1 blobs_lr: 2
  weight_decay: 1 weight_decay: 0
  inner_product_param { num_output: 500 weight_filler { type: "xavier" } } }
layers { name: "relu1" type: RELU bottom: "ip1" top: "ip1" }
layers { name: "ip2" type: INNER_PRODUCT bottom: "ip1" top: "ip2" blobs_lr: 1 blobs_lr: 2
  inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layers { name: "prob" type: SOFTMAX bottom: "ip2" top: "prob" }
"""

CIFAR_QUICK = """
name: "CIFAR10_quick_test"
layer { name: "data" type: "Input" top: "data" input_param { shape: { dim: 1 dim: 3 dim: 32 dim: 32 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  param { lr_mult: 1 } param { lr_mult: 2 }
  convolution_param { num_output: 32 pad: 2 kernel_size: 5 stride: 1
    weight_filler { type: "gaussian" std: 0.0001 } bias_filler { type: "constant" } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "pool1" top: "pool1" }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
  param { lr_mult: 1 } param { lr_mult: 2 }
  convolution_param { num_output: 32 pad: 2 kernel_size: 5 stride: 1
    weight_filler { type: "gaussian" std: 0.01 } bias_filler { type: "constant" } } }
layer { name: "relu2" type: "ReLU" bottom: "conv2" top: "conv2" }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layer { name: "conv3" type: "Convolution" bottom: "pool2" top: "conv3"
  param { lr_mult: 1 } param { lr_mult: 2 }
  convolution_param { num_output: 64 pad: 2 kernel_size: 5 stride: 1
    weight_filler { type: "gaussian" std: 0.01 } bias_filler { type: "constant" } } }
layer { name: "relu3" type: "ReLU" bottom: "conv3" top: "conv3" }
layer { name: "pool3" type: "Pooling" bottom: "conv3" top: "pool3"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool3" top: "ip1"
  param { lr_mult: 1 } param { lr_mult: 2 }
  inner_product_param { num_output: 64 weight_filler { type: "gaussian" std: 0.1 } bias_filler { type: "constant" } } }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
  param { lr_mult: 1 } param { lr_mult: 2 }
  inner_product_param { num_output: 10 weight_filler { type: "gaussian" std: 0.1 } bias_filler { type: "constant" } } }
layer { name: "prob" type: "Softmax" bottom: "ip2" top: "prob" }
"""

CIFAR_QUICK_SOLVER = """
net: "examples/cifar10/cifar10_quick_train_test.prototxt"
test_iter: 100
test_interval: 500
base_lr: 0.001
momentum: 0.9
weight_decay: 0.004
lr_policy: "fixed"
display: 100
max_iter: 4000
snapshot: 4000
snapshot_format: HDF5
snapshot_prefix: "examples/cifar10/cifar10_quick"
solver_mode: GPU
"""


def _alexnet_layers(v1):
    """AlexNet's deploy net (groups, LRN, dropout, names like fc6/relu), in either format."""
    def conv(name, bottom, n, k, stride=1, pad=0, group=1):
        t = "CONVOLUTION" if v1 else '"Convolution"'
        key = "layers" if v1 else "layer"
        mult = "blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0" if v1 else \
            "param { lr_mult: 1 decay_mult: 1 } param { lr_mult: 2 decay_mult: 0 }"
        return (f'{key} {{ name: "{name}" type: {t} bottom: "{bottom}" top: "{name}" {mult}\n'
                f'  convolution_param {{ num_output: {n} kernel_size: {k} stride: {stride} pad: {pad} '
                f'group: {group} }} }}\n')

    def simple(name, kind_new, kind_old, bottom, top, params=""):
        key, t = ("layers", kind_old) if v1 else ("layer", f'"{kind_new}"')
        return f'{key} {{ name: "{name}" type: {t} bottom: "{bottom}" top: "{top}" {params} }}\n'

    def ip(name, bottom, n):
        t = "INNER_PRODUCT" if v1 else '"InnerProduct"'
        key = "layers" if v1 else "layer"
        return (f'{key} {{ name: "{name}" type: {t} bottom: "{bottom}" top: "{name}"\n'
                f'  inner_product_param {{ num_output: {n} }} }}\n')

    pool = "pooling_param { pool: MAX kernel_size: 3 stride: 2 }"
    norm = "lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }"
    drop = "dropout_param { dropout_ratio: 0.5 }"
    text = conv("conv1", "data", 96, 11, stride=4)
    text += simple("relu1", "ReLU", "RELU", "conv1", "conv1")
    text += simple("norm1", "LRN", "LRN", "conv1", "norm1", norm)
    text += simple("pool1", "Pooling", "POOLING", "norm1", "pool1", pool)
    text += conv("conv2", "pool1", 256, 5, pad=2, group=2)
    text += simple("relu2", "ReLU", "RELU", "conv2", "conv2")
    text += simple("norm2", "LRN", "LRN", "conv2", "norm2", norm)
    text += simple("pool2", "Pooling", "POOLING", "norm2", "pool2", pool)
    text += conv("conv3", "pool2", 384, 3, pad=1)
    text += simple("relu3", "ReLU", "RELU", "conv3", "conv3")
    text += conv("conv4", "conv3", 384, 3, pad=1, group=2)
    text += simple("relu4", "ReLU", "RELU", "conv4", "conv4")
    text += conv("conv5", "conv4", 256, 3, pad=1, group=2)
    text += simple("relu5", "ReLU", "RELU", "conv5", "conv5")
    text += simple("pool5", "Pooling", "POOLING", "conv5", "pool5", pool)
    text += ip("fc6", "pool5", 4096)
    text += simple("relu6", "ReLU", "RELU", "fc6", "fc6")
    text += simple("drop6", "Dropout", "DROPOUT", "fc6", "fc6", drop)
    text += ip("fc7", "fc6", 4096)
    text += simple("relu7", "ReLU", "RELU", "fc7", "fc7")
    text += simple("drop7", "Dropout", "DROPOUT", "fc7", "fc7", drop)
    text += ip("fc8", "fc7", 1000)
    text += simple("prob", "Softmax", "SOFTMAX", "fc8", "prob")
    return text


ALEXNET = ('name: "AlexNet"\nlayer { name: "data" type: "Input" top: "data"\n'
           '  input_param { shape: { dim: 10 dim: 3 dim: 227 dim: 227 } } }\n' + _alexnet_layers(False))
ALEXNET_V1 = ('name: "AlexNet"\ninput: "data"\ninput_shape { dim: 10 dim: 3 dim: 227 dim: 227 }\n'
              + _alexnet_layers(True))

# GoogLeNet's inception_3a: four branches joined by Concat, names with '/'.
INCEPTION = """
name: "inception"
input: "data"
input_shape { dim: 2 dim: 192 dim: 28 dim: 28 }
layer { name: "inception_3a/1x1" type: "Convolution" bottom: "data" top: "inception_3a/1x1"
  convolution_param { num_output: 64 kernel_size: 1 weight_filler { type: "xavier" } } }
layer { name: "inception_3a/relu_1x1" type: "ReLU" bottom: "inception_3a/1x1" top: "inception_3a/1x1" }
layer { name: "inception_3a/3x3_reduce" type: "Convolution" bottom: "data" top: "inception_3a/3x3_reduce"
  convolution_param { num_output: 96 kernel_size: 1 weight_filler { type: "xavier" } } }
layer { name: "inception_3a/relu_3x3_reduce" type: "ReLU" bottom: "inception_3a/3x3_reduce"
  top: "inception_3a/3x3_reduce" }
layer { name: "inception_3a/3x3" type: "Convolution" bottom: "inception_3a/3x3_reduce" top: "inception_3a/3x3"
  convolution_param { num_output: 128 pad: 1 kernel_size: 3 weight_filler { type: "xavier" } } }
layer { name: "inception_3a/relu_3x3" type: "ReLU" bottom: "inception_3a/3x3" top: "inception_3a/3x3" }
layer { name: "inception_3a/5x5_reduce" type: "Convolution" bottom: "data" top: "inception_3a/5x5_reduce"
  convolution_param { num_output: 16 kernel_size: 1 weight_filler { type: "xavier" } } }
layer { name: "inception_3a/relu_5x5_reduce" type: "ReLU" bottom: "inception_3a/5x5_reduce"
  top: "inception_3a/5x5_reduce" }
layer { name: "inception_3a/5x5" type: "Convolution" bottom: "inception_3a/5x5_reduce" top: "inception_3a/5x5"
  convolution_param { num_output: 32 pad: 2 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "inception_3a/relu_5x5" type: "ReLU" bottom: "inception_3a/5x5" top: "inception_3a/5x5" }
layer { name: "inception_3a/pool" type: "Pooling" bottom: "data" top: "inception_3a/pool"
  pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 } }
layer { name: "inception_3a/pool_proj" type: "Convolution" bottom: "inception_3a/pool" top: "inception_3a/pool_proj"
  convolution_param { num_output: 32 kernel_size: 1 weight_filler { type: "xavier" } } }
layer { name: "inception_3a/relu_pool_proj" type: "ReLU" bottom: "inception_3a/pool_proj"
  top: "inception_3a/pool_proj" }
layer { name: "inception_3a/output" type: "Concat"
  bottom: "inception_3a/1x1" bottom: "inception_3a/3x3" bottom: "inception_3a/5x5"
  bottom: "inception_3a/pool_proj" top: "inception_3a/output" }
"""

# ResNet's bottleneck-free basic block: conv-BN-Scale-ReLU twice, an identity shortcut, Eltwise SUM.
RESIDUAL = """
name: "residual"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 16 dim: 8 dim: 8 } } }
layer { name: "res2a_branch2a" type: "Convolution" bottom: "data" top: "res2a_branch2a"
  convolution_param { num_output: 16 kernel_size: 3 pad: 1 bias_term: false } }
layer { name: "bn2a_branch2a" type: "BatchNorm" bottom: "res2a_branch2a" top: "res2a_branch2a"
  batch_norm_param { use_global_stats: true }
  param { lr_mult: 0 } param { lr_mult: 0 } param { lr_mult: 0 } }
layer { name: "scale2a_branch2a" type: "Scale" bottom: "res2a_branch2a" top: "res2a_branch2a"
  scale_param { bias_term: true } }
layer { name: "res2a_branch2a_relu" type: "ReLU" bottom: "res2a_branch2a" top: "res2a_branch2a" }
layer { name: "res2a_branch2b" type: "Convolution" bottom: "res2a_branch2a" top: "res2a_branch2b"
  convolution_param { num_output: 16 kernel_size: 3 pad: 1 bias_term: false } }
layer { name: "bn2a_branch2b" type: "BatchNorm" bottom: "res2a_branch2b" top: "res2a_branch2b"
  batch_norm_param { use_global_stats: true eps: 0.001 } }
layer { name: "scale2a_branch2b" type: "Scale" bottom: "res2a_branch2b" top: "res2a_branch2b"
  scale_param { bias_term: true } }
layer { name: "res2a" type: "Eltwise" bottom: "data" bottom: "res2a_branch2b" top: "res2a"
  eltwise_param { operation: SUM } }
layer { name: "res2a_relu" type: "ReLU" bottom: "res2a" top: "res2a" }
"""
